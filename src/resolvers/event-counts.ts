import { ArgsType, Field, Int, ObjectType, registerEnumType } from "type-graphql";
import type { Context } from "../context";
import type { EventAnchor } from "../db/store";
import { MAX_PAGE_SIZE } from "../db/keyset";
import { UserInputError } from "../schema/errors";
import { EventFilter } from "./list.args";
import { checkFilterLists } from "./lists";

export enum EventCountField {
  EVENT_NAME = "EVENT_NAME",
  EVENT_TYPE = "EVENT_TYPE",
  EVENT_RW = "EVENT_RW",
  SERVICE_NAME = "SERVICE_NAME",
  EVENT_SOURCE = "EVENT_SOURCE",
  REGION = "REGION",
  ACCOUNT_ID = "ACCOUNT_ID",
  SOURCE_IP_ADDRESS = "SOURCE_IP_ADDRESS",
  ERROR_CODE = "ERROR_CODE",
}
registerEnumType(EventCountField, {
  name: "EventCountField",
  description: "An event field to count events by.",
  valuesConfig: {
    EVENT_NAME: { description: "The operation (`eventName`)." },
    EVENT_TYPE: { description: "`eventType`." },
    EVENT_RW: { description: "`eventRW` (Read / Write)." },
    SERVICE_NAME: { description: "`serviceName`." },
    EVENT_SOURCE: { description: "`eventSource`." },
    REGION: { description: "`acsRegion`." },
    ACCOUNT_ID: { description: "The owning account." },
    SOURCE_IP_ADDRESS: { description: "`sourceIpAddress`." },
    ERROR_CODE: { description: "`errorCode` (null for successful operations)." },
  },
});

@ObjectType("EventCount", { simpleResolvers: true, description: "How many events share one value of a field." })
export class EventCount {
  @Field(() => String, { nullable: true, description: "The value; null for events that have none." })
  key: string | null;

  @Field(() => Int, { description: "Number of matching events with this value." })
  count: number;
}

@ArgsType()
export class EventCountsArgs {
  @Field(() => EventCountField, { description: "The field to group by." })
  by: EventCountField;

  @Field(() => EventFilter, { nullable: true, description: "Which events to count; all when omitted." })
  filter?: EventFilter | null;

  @Field(() => Int, {
    defaultValue: 10,
    description: `How many values, most frequent first (at most ${MAX_PAGE_SIZE}).`,
  })
  first: number;
}

/** Counts of the most frequent values, for the events of `anchor` (or all events). */
export function eventCounts(ctx: Context, anchor: EventAnchor, parent: unknown, args: EventCountsArgs) {
  if (args.first < 1 || args.first > MAX_PAGE_SIZE) {
    throw new UserInputError(`\`first\` is ${args.first}; it must be between 1 and ${MAX_PAGE_SIZE}.`, "first");
  }
  checkFilterLists(args.filter ?? {});
  return ctx.topValues(ctx.store.eventCounts(anchor, args.filter, args.by), args.first, parent);
}
