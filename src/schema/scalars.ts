import { GraphQLScalarType } from "graphql";
import { GraphQLDateTime as DateTimeOfGraphqlScalars, GraphQLJSON } from "graphql-scalars";
import { isoString } from "./iso-string";

export { GraphQLJSON };

const dateTime = DateTimeOfGraphqlScalars.toConfig();

/**
 * ISO 8601 in UTC, e.g. `2021-08-02T06:30:17.000Z`: graphql-scalars' DateTime (its name,
 * description, input parsing and checks), answering with the ISO string itself. Its own
 * serialize answers a Date, which JSON.stringify then converts through `toJSON` on its slow
 * path for the whole response: for a page of 50 events that tripled the cost of writing the
 * response.
 */
export const GraphQLDateTime = new GraphQLScalarType({
  ...dateTime,
  serialize(value) {
    // Valid Dates (what the entities hold) straight away; anything else through graphql-scalars.
    if (value instanceof Date && !Number.isNaN(value.getTime())) return isoString(value);
    const serialized = dateTime.serialize!(value);
    return serialized instanceof Date ? serialized.toISOString() : serialized;
  },
});

/** `Date` fields are the DateTime scalar. */
export const scalarsMap = [{ type: Date, scalar: GraphQLDateTime }];
