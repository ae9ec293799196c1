import type { FieldNode, GraphQLResolveInfo } from "graphql";
import type { ClassType } from "type-graphql";
import type { Context } from "../context";
import { Event } from "../entities";
import { pageRequest } from "../db/keyset";
import type { ListSpec } from "../db/lists";
import type { EventAnchor, EventListShape } from "../db/store";
import { UserInputError } from "../schema/errors";
import type { ConnectionData } from "../schema/connection";
import { EventConnection } from "./connections";
import { OrderDirection, type EventsArgs, type PageArgs } from "./list.args";
import { connectionNodeFields } from "./selection";

export const MAX_FILTER_VALUES = 500;

interface ConnectionClass<T> {
  of(data: ConnectionData<T>): unknown;
}

/** A connection over any keyset list: validates the page arguments, batches the read. */
export async function connection<T extends object, C extends ConnectionClass<T>>(
  ctx: Context,
  type: C,
  entity: ClassType<T>,
  spec: ListSpec,
  args: PageArgs,
  parent: unknown = null,
): Promise<ReturnType<C["of"]>> {
  const page = pageRequest(args, spec.tag, spec.sort);
  const data = { page: await ctx.page(entity, spec, page, parent), count: () => ctx.count(spec, parent) };
  // The request's DataLoaders may answer this page from one read for many parents: what a
  // request answers, not only what it reads, is bounded (TRAILGRAPH_MAX_NODES).
  ctx.answering(data.page.nodes.length);
  return type.of(data) as ReturnType<C["of"]>;
}

/**
 * An event connection hanging from `anchor` (or the root list), with filter and order checked.
 * Its rows carry the columns the query's selection needs, not all of them.
 */
export function eventsConnection(
  ctx: Context,
  anchor: EventAnchor,
  parent: unknown,
  args: EventsArgs,
  info: GraphQLResolveInfo,
) {
  checkFilterLists(args.filter ?? {});
  const direction = args.orderBy?.direction ?? OrderDirection.DESC;
  const spec = ctx.store.eventList(anchor, args.filter, direction, eventListShape(info));
  return connection(ctx, EventConnection, Event, spec, args, parent);
}

/** Event properties every list row carries: its keys, and what resolvers of related objects follow. */
const EVENT_ROW_BASE = ["pk", "eventId", "eventTime", "accountId", "identityPk"];

/** Event fields answered by resolvers (src/resolvers/event.resolver.ts), with the properties they read. */
const EVENT_RESOLVED: Readonly<Record<string, readonly string[]>> = {
  __typename: [],
  id: [],
  userIdentity: [],
  account: [],
  referencedResources: [],
  orders: [],
  requestParameters: [],
  responseElements: [],
  additionalEventData: [],
  raw: [],
  definition: ["eventName"],
};

/**
 * Shapes by the field nodes they were read from. Every parent of a list of parents resolves
 * its `events` field with the same nodes (graphql-js collects a type's subfields once per
 * operation; a compiled operation, once), so a page of 20 resources reads the selection once,
 * and hands the Store one shape object to key its list on.
 */
const shapes = new WeakMap<readonly FieldNode[], EventListShape>();

/**
 * What the selection of an event connection reads: the Event properties (other fields are
 * columns of their name), and the identity with the page when it asks for `userIdentity`
 * (one statement instead of two, and a node that resolves without waiting on a loader).
 */
function eventListShape(info: GraphQLResolveInfo): EventListShape {
  let shape = shapes.get(info.fieldNodes);
  if (!shape) {
    shape = readEventListShape(info);
    shapes.set(info.fieldNodes, shape);
  }
  return shape;
}

function readEventListShape(info: GraphQLResolveInfo): EventListShape {
  const fields = connectionNodeFields(info);
  const properties = new Set(EVENT_ROW_BASE);
  for (const field of fields) {
    const needs = Object.hasOwn(EVENT_RESOLVED, field) ? EVENT_RESOLVED[field] : [field];
    for (const property of needs) properties.add(property);
  }
  return { properties, identity: fields.has("userIdentity") };
}

/** What an order connection reads with its page: the items, when its selection asks for them. */
export function orderListShape(info: GraphQLResolveInfo): { items: boolean } {
  return { items: connectionNodeFields(info).has("items") };
}

/** Filter lists are bound parameters: keep statements to a sane size. */
export function checkFilterLists(filter: object): void {
  for (const [name, value] of Object.entries(filter)) {
    if (Array.isArray(value) && value.length > MAX_FILTER_VALUES) {
      throw new UserInputError(
        `filter.${name} has ${value.length} values; at most ${MAX_FILTER_VALUES} are allowed.`,
        "filter",
      );
    }
  }
}
