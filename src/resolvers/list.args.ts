import { ArgsType, Field, InputType, Int, registerEnumType } from "type-graphql";
import { MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE } from "../db/keyset";
import type { EventFilterValues, OrderFilterValues, ResourceFilterValues } from "../db/store";

export enum OrderDirection {
  ASC = "ASC",
  DESC = "DESC",
}
registerEnumType(OrderDirection, {
  name: "OrderDirection",
  description: "Sort direction.",
  valuesConfig: {
    ASC: { description: "Oldest or smallest first." },
    DESC: { description: "Newest or largest first." },
  },
});

export enum EventOrderField {
  EVENT_TIME = "EVENT_TIME",
}
registerEnumType(EventOrderField, {
  name: "EventOrderField",
  description: "What events can be sorted by.",
  valuesConfig: { EVENT_TIME: { description: "The event's time, ties broken by arrival order." } },
});

@ArgsType()
export class PageArgs {
  @Field(() => Int, {
    nullable: true,
    description: `Items after \`after\` (default ${DEFAULT_PAGE_SIZE}, at most ${MAX_PAGE_SIZE}).`,
  })
  first?: number | null;

  @Field(() => String, {
    nullable: true,
    description: "Cursor to start after (`pageInfo.endCursor` of the previous page).",
  })
  after?: string | null;

  @Field(() => Int, {
    nullable: true,
    description: `Items before \`before\` (at most ${MAX_PAGE_SIZE}); reads the list backwards.`,
  })
  last?: number | null;

  @Field(() => String, {
    nullable: true,
    description: "Cursor to end before (`pageInfo.startCursor` of the next page).",
  })
  before?: string | null;
}

const LIST = "Matches any of the values; an empty or omitted list does not filter.";

@InputType("EventFilter", {
  description:
    "Which events to return. Fields combine with AND; the values of a list with OR. Every combination is served by an index.",
})
export class EventFilter implements EventFilterValues {
  @Field(() => [String], { nullable: true, description: `Event IDs. ${LIST}` })
  eventIds?: string[] | null;

  @Field(() => [String], { nullable: true, description: `Operation names, e.g. \`QueryBill\`, \`Create\`. ${LIST}` })
  eventNames?: string[] | null;

  @Field(() => [String], { nullable: true, description: `Event types, e.g. \`ApiCall\`, \`ConsoleSignin\`. ${LIST}` })
  eventTypes?: string[] | null;

  @Field(() => [String], { nullable: true, description: `\`Read\` and/or \`Write\`. ${LIST}` })
  eventRW?: string[] | null;

  @Field(() => [String], { nullable: true, description: `Services, e.g. \`Ecs\`, \`BssOpenApi\`. ${LIST}` })
  serviceNames?: string[] | null;

  @Field(() => [String], { nullable: true, description: `Endpoints, e.g. \`business.aliyuncs.com\`. ${LIST}` })
  eventSources?: string[] | null;

  @Field(() => [String], { nullable: true, description: `Regions (acsRegion), e.g. \`cn-hangzhou\`. ${LIST}` })
  regions?: string[] | null;

  @Field(() => [String], { nullable: true, description: `Owning account IDs. ${LIST}` })
  accountIds?: string[] | null;

  @Field(() => [String], { nullable: true, description: `Requester principal IDs. ${LIST}` })
  principalIds?: string[] | null;

  @Field(() => [String], {
    nullable: true,
    description: `Requester user names (\`root\`, RAM user names, \`role:session\`). ${LIST}`,
  })
  userNames?: string[] | null;

  @Field(() => [String], {
    nullable: true,
    description: `Requester identity types, e.g. \`ram-user\`, \`system\`. ${LIST}`,
  })
  identityTypes?: string[] | null;

  @Field(() => [String], { nullable: true, description: `AccessKey IDs used. ${LIST}` })
  accessKeyIds?: string[] | null;

  @Field(() => [String], { nullable: true, description: `Source IP addresses. ${LIST}` })
  sourceIpAddresses?: string[] | null;

  @Field(() => [String], {
    nullable: true,
    description: `Types of referenced resources, e.g. \`ACS::ECS::Instance\`. ${LIST}`,
  })
  resourceTypes?: string[] | null;

  @Field(() => [String], { nullable: true, description: `IDs of referenced resources. ${LIST}` })
  resourceIds?: string[] | null;

  @Field(() => [String], { nullable: true, description: `Orders the events name. ${LIST}` })
  orderIds?: string[] | null;

  @Field(() => [String], { nullable: true, description: `Error codes. ${LIST}` })
  errorCodes?: string[] | null;

  @Field(() => Boolean, { nullable: true, description: "Only failed (true) or only successful (false) operations." })
  failed?: boolean | null;

  @Field(() => Date, { nullable: true, description: "Events at or after this time (inclusive)." })
  from?: Date | null;

  @Field(() => Date, { nullable: true, description: "Events before this time (exclusive)." })
  to?: Date | null;
}

@InputType("EventOrder", { description: "How events are sorted." })
export class EventOrder {
  @Field(() => EventOrderField, { defaultValue: EventOrderField.EVENT_TIME, description: "Sort key." })
  field: EventOrderField;

  @Field(() => OrderDirection, {
    defaultValue: OrderDirection.DESC,
    description: "Newest first (DESC, the default) or oldest first.",
  })
  direction: OrderDirection;
}

@ArgsType()
export class EventsArgs extends PageArgs {
  @Field(() => EventFilter, { nullable: true, description: "Which events; all when omitted." })
  filter?: EventFilter | null;

  @Field(() => EventOrder, { nullable: true, description: "Sort order; newest first when omitted." })
  orderBy?: EventOrder | null;
}

@InputType("OrderFilter", { description: "Which orders to return. Fields combine with AND; list values with OR." })
export class OrderFilter implements OrderFilterValues {
  @Field(() => [String], { nullable: true, description: `Order IDs. ${LIST}` })
  orderIds?: string[] | null;

  @Field(() => [String], { nullable: true, description: `Owning account IDs. ${LIST}` })
  accountIds?: string[] | null;

  @Field(() => Date, { nullable: true, description: "Orders placed at or after this time (inclusive)." })
  from?: Date | null;

  @Field(() => Date, { nullable: true, description: "Orders placed before this time (exclusive)." })
  to?: Date | null;
}

@ArgsType()
export class OrdersArgs extends PageArgs {
  @Field(() => OrderFilter, { nullable: true, description: "Which orders; all when omitted. Newest first." })
  filter?: OrderFilter | null;
}

@InputType("ResourceFilter", {
  description: "Which resources to return. Fields combine with AND; list values with OR.",
})
export class ResourceFilter implements ResourceFilterValues {
  @Field(() => [String], { nullable: true, description: `Resource types, e.g. \`ACS::ECS::Instance\`. ${LIST}` })
  types?: string[] | null;

  @Field(() => [String], { nullable: true, description: `Resource IDs. ${LIST}` })
  resourceIds?: string[] | null;

  @Field(() => [String], { nullable: true, description: `Owning account IDs. ${LIST}` })
  accountIds?: string[] | null;
}

@ArgsType()
export class ResourcesArgs extends PageArgs {
  @Field(() => ResourceFilter, {
    nullable: true,
    description: "Which resources; all when omitted. In first-seen order.",
  })
  filter?: ResourceFilter | null;
}

@ArgsType()
export class AccountResourcesArgs extends PageArgs {
  @Field(() => String, { nullable: true, description: "Only resources of this type, e.g. `ACS::ECS::Instance`." })
  type?: string | null;
}
