import type { Context } from "../context";
import { identityKeyOf, type IdentityTuple } from "../entities";
import type { Node } from "../schema/node";

/**
 * How each entity type is found by its key: `node(id:)` (the key inside a global ID, which is
 * what `nodeRef` holds) and federation's `_entities` (the key from a representation's `@key`
 * fields) both resolve through `resolveEntity`, and so through the request's DataLoaders and its
 * tenant scope: N references of one type are one statement, and an object out of scope is null.
 */
interface EntityType {
  /** The `@key(fields:)` of the type's `@Directive`, field by field (a test checks they agree). */
  keyFields: readonly string[];
  /** The key `nodeRef` carries, from a representation of the type; null when it is not one. */
  keyOfRepresentation(representation: Record<string, unknown>): string[] | null;
  /** The object by its key (as `nodeRef` carries it), loaded in the request's batch. */
  load(ctx: Context, key: readonly string[]): Promise<Node | null>;
}

export const ENTITY_TYPES = {
  Event: {
    keyFields: ["eventId"],
    keyOfRepresentation: (r) => strings(r.eventId),
    load: (ctx, [eventId]) => ctx.eventByEventId.load(eventId),
  },
  Account: {
    keyFields: ["accountId"],
    keyOfRepresentation: (r) => strings(r.accountId),
    load: (ctx, [accountId]) => ctx.accountById.load(accountId),
  },
  Order: {
    keyFields: ["orderId"],
    keyOfRepresentation: (r) => strings(r.orderId),
    load: (ctx, [orderId]) => ctx.orderById.load(orderId),
  },
  ReferencedResource: {
    keyFields: ["type", "resourceId"],
    keyOfRepresentation: (r) => strings(r.type, r.resourceId),
    load: (ctx, [type, resourceId = ""]) => ctx.resourceByKey.load({ type, resourceId }),
  },
  UserIdentity: {
    // A global ID carries the identity key (a hash of this tuple); another subgraph holds the
    // tuple itself, as ActionTrail reports it (absent fields are null).
    keyFields: ["type", "accountId", "principalId", "userName", "accessKeyId"],
    keyOfRepresentation: (r) => {
      const tuple = {
        type: r.type,
        accountId: r.accountId ?? null,
        principalId: r.principalId ?? null,
        userName: r.userName ?? null,
        accessKeyId: r.accessKeyId ?? null,
      };
      const valid =
        typeof tuple.type === "string" &&
        [tuple.accountId, tuple.principalId, tuple.userName, tuple.accessKeyId].every(
          (part) => part === null || typeof part === "string",
        );
      return valid ? [identityKeyOf(tuple as IdentityTuple)] : null;
    },
    load: (ctx, [identityKey]) => ctx.identityByKey.load(identityKey),
  },
} as const satisfies Record<string, EntityType>;

export type EntityTypeName = keyof typeof ENTITY_TYPES;

/**
 * The object of type `typename` with natural key `key` (as its `nodeRef` has it), null when
 * there is none within the request's scope; undefined when `typename` is not an entity type.
 */
export function resolveEntity(
  ctx: Context,
  typename: string,
  key: readonly string[],
): Promise<Node | null> | undefined {
  if (!Object.hasOwn(ENTITY_TYPES, typename)) return undefined;
  return (ENTITY_TYPES[typename as EntityTypeName] as EntityType).load(ctx, key);
}

/**
 * `__resolveReference` of each entity type, for `buildSubgraphSchema`: the representation's key,
 * then `resolveEntity`. A representation without a usable key resolves to null, as an unknown key does.
 */
export function referenceResolvers(): Record<
  string,
  { __resolveReference(representation: Record<string, unknown>, ctx: Context): Promise<Node | null> | null }
> {
  return Object.fromEntries(
    Object.entries(ENTITY_TYPES).map(([typename, type]) => [
      typename,
      {
        __resolveReference(representation: Record<string, unknown>, ctx: Context) {
          const key = (type as EntityType).keyOfRepresentation(representation);
          return key && resolveEntity(ctx, typename, key)!;
        },
      },
    ]),
  );
}

/** The values as a key when every one is a string, else null. */
function strings(...values: unknown[]): string[] | null {
  return values.every((value) => typeof value === "string") ? (values as string[]) : null;
}
