import type { ClassType } from "type-graphql";
import type { Context } from "../context";
import { Event } from "../entities";
import { pageRequest } from "../db/keyset";
import type { ListSpec } from "../db/lists";
import type { EventAnchor } from "../db/store";
import { UserInputError } from "../schema/errors";
import type { ConnectionData } from "../schema/connection";
import { EventConnection } from "./connections";
import { OrderDirection, type EventsArgs, type PageArgs } from "./list.args";

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
  return type.of(data) as ReturnType<C["of"]>;
}

/** An event connection hanging from `anchor` (or the root list), with filter and order checked. */
export function eventsConnection(ctx: Context, anchor: EventAnchor, parent: unknown, args: EventsArgs) {
  checkFilterLists(args.filter ?? {});
  const direction = args.orderBy?.direction ?? OrderDirection.DESC;
  const spec = ctx.store.eventList(anchor, args.filter, direction);
  return connection(ctx, EventConnection, Event, spec, args, parent);
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
