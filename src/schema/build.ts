import "reflect-metadata";
import { buildSchema } from "type-graphql";
import type { GraphQLSchema } from "graphql";
import { AccountResolver } from "../resolvers/account.resolver";
import { EventResolver } from "../resolvers/event.resolver";
import { OrderItemResolver, OrderResolver } from "../resolvers/order.resolver";
import { QueryResolver } from "../resolvers/query.resolver";
import { ResourceResolver } from "../resolvers/resource.resolver";
import { UserIdentityResolver } from "../resolvers/user-identity.resolver";
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
export function buildTrailGraphSchema(): Promise<GraphQLSchema> {
  return buildSchema({
    resolvers: RESOLVERS,
    scalarsMap,
    validate: false,
    emitSchemaFile: false,
  });
}
