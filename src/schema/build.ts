import "reflect-metadata";
import { buildSubgraphSchema } from "@apollo/subgraph";
import type { GraphQLResolverMap } from "@apollo/subgraph/dist/schema-helper";
import { printSchemaWithDirectives } from "@graphql-tools/utils";
import { lexicographicSortSchema, parse, type GraphQLField, type GraphQLInputField, type GraphQLSchema } from "graphql";
import { buildSchema, createResolversMap } from "type-graphql";
import { AccountResolver } from "../resolvers/account.resolver";
import { referenceResolvers } from "../resolvers/entities";
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

/**
 * The Federation 2 version the subgraph links: the lowest that has every directive it uses
 * (`@key` and `@shareable` are both in 2.0).
 */
export const FEDERATION_LINK =
  'extend schema @link(url: "https://specs.apollo.dev/federation/v2.0", import: ["@key", "@shareable"])';

/**
 * The executable schema: an Apollo Federation 2 subgraph (`_service`, `_entities`). Built once
 * per process; it holds no per-request state.
 *
 * type-graphql builds the schema from the classes (entities carry `@key`, shared value types
 * `@shareable`); its resolvers are then replaced by direct calls where possible; its SDL with
 * those directives, behind the `@link` to the federation spec, and its resolvers (with each
 * entity's `__resolveReference`) go to `buildSubgraphSchema`, which adds the federation fields.
 */
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
  // Sorted, so that the committed SDL (schema.graphql) changes only where the API does.
  const sdl = `${FEDERATION_LINK}\n\n${printSchemaWithDirectives(lexicographicSortSchema(schema))}`;
  const resolvers = createResolversMap(schema) as Record<string, object>;
  for (const [typename, reference] of Object.entries(referenceResolvers())) {
    resolvers[typename] = { ...resolvers[typename], ...reference };
  }
  const subgraph = buildSubgraphSchema({ typeDefs: parse(sdl), resolvers: resolvers as GraphQLResolverMap<unknown> });
  copyExtensions(schema, subgraph);
  return subgraph;
}

/**
 * The SDL round trip keeps no `extensions` (type-graphql puts a field's `complexity` and
 * `@Extensions` there): they are copied onto the subgraph's types, fields and arguments, without
 * replacing what the subgraph set itself (an entity's `apollo.subgraph.resolveReference`).
 */
export function copyExtensions(from: GraphQLSchema, to: GraphQLSchema): void {
  const merge = (target: { readonly extensions: object }, source: { readonly extensions: object }) => {
    for (const [key, value] of Object.entries(source.extensions)) {
      if (!(key in target.extensions)) (target.extensions as Record<string, unknown>)[key] = value;
    }
  };
  for (const type of Object.values(from.getTypeMap())) {
    const target = to.getType(type.name);
    if (!target || type.name.startsWith("__")) continue;
    merge(target, type);
    if (!("getFields" in type) || !("getFields" in target)) continue;
    const targetFields = target.getFields() as Record<string, GraphQLField<unknown, unknown> | GraphQLInputField>;
    for (const field of Object.values(type.getFields() as Record<string, GraphQLField<unknown, unknown>>)) {
      const targetField = targetFields[field.name];
      if (!targetField) continue;
      merge(targetField, field);
      for (const arg of field.args ?? []) {
        const targetArg = "args" in targetField ? targetField.args.find((a) => a.name === arg.name) : undefined;
        if (targetArg) merge(targetArg, arg);
      }
    }
  }
}
