import { GraphQLDateTime, GraphQLJSON } from "graphql-scalars";

export { GraphQLJSON };

/** `Date` fields are the DateTime scalar: ISO 8601 in UTC, e.g. `2021-08-02T06:30:17.000Z`. */
export const scalarsMap = [{ type: Date, scalar: GraphQLDateTime }];
