import "reflect-metadata";
import { buildSchema } from "type-graphql";
import type { GraphQLSchema } from "graphql";
import { AccountResolver } from "../resolvers/account.resolver";
import { EventResolver } from "../resolvers/event.resolver";
import { OrderItemResolver, OrderResolver } from "../resolvers/order.resolver";
import { QueryResolver } from "../resolvers/query.resolver";
import { ResourceResolver } from "../resolvers/resource.resolver";
import { UserIdentityResolver } from "../resolvers/user-identity.resolver";
import { installDirectResolvers } from "./direct-resolvers";
import { scalarsMap } from "./scalars";

export const RESOLVERS = [
  QueryResolver,
  EventResolver,
  AccountResolver,
  UserIdentityResolver,
  OrderResolver,
  OrderItemResolver,
  ResourceResolver,
] as const;

/** The executable schema. Built once per process; it holds no per-request state. */
export async function buildTrailGraphSchema(): Promise<GraphQLSchema> {
  const schema = await buildSchema({
    resolvers: RESOLVERS,
    scalarsMap,
    validate: false,
    emitSchemaFile: false,
  });
  installDirectResolvers(schema, RESOLVERS);
  // type-graphql has no decorator for the root type's description.
  schema.getQueryType()!.description =
    "ActionTrail events as a graph: start from an account, an order, a resource or a filtered event list.";
  return schema;
}
