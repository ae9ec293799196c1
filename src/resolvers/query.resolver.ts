import type { GraphQLResolveInfo } from "graphql";
import { Arg, Args, Ctx, ID, Info, Query, Resolver } from "type-graphql";
import { EVENT_CATALOG } from "../catalog";
import type { Context } from "../context";
import { Account, Event, IngestReject, Order, ReferencedResource } from "../entities";
import { UserInputError } from "../schema/errors";
import { decodeGlobalId } from "../schema/global-id";
import { Node } from "../schema/node";
import {
  AccountConnection,
  EventConnection,
  IngestRejectConnection,
  OrderConnection,
  ResourceConnection,
} from "./connections";
import { resolveEntity } from "./entities";
import { EventDefinition } from "./event-definition.type";
import { EventCount, eventCounts, EventCountsArgs } from "./event-counts";
import { EventsArgs, OrdersArgs, PageArgs, ResourcesArgs } from "./list.args";
import { checkFilterLists, connection, eventsConnection, orderListShape } from "./lists";

@Resolver()
export class QueryResolver {
  @Query(() => Node, {
    nullable: true,
    description: 'Any object by its global `id`. Example: `{ node(id: "...") { id ... on Event { eventName } } }`',
  })
  async node(
    @Arg("id", () => ID, { description: "A global ID from any object's `id` field." }) id: string,
    @Ctx() ctx: Context,
  ): Promise<Node | null> {
    const [typename, ...key] = decodeGlobalId(id);
    const found = resolveEntity(ctx, typename, key);
    if (!found) throw new UserInputError(`Invalid node ID '${id}': unknown type '${typename}'.`, "id");
    return found;
  }

  @Query(() => Event, {
    nullable: true,
    description:
      'One event by its ActionTrail event ID. Example: `{ event(eventId: "2546c4b7-...") { eventName eventTime } }`',
  })
  event(
    @Arg("eventId", () => ID, { description: "ActionTrail's eventId." }) eventId: string,
    @Ctx() ctx: Context,
  ): Promise<Event | null> {
    return ctx.eventByEventId.load(eventId);
  }

  @Query(() => EventConnection, {
    description:
      "Events matching any combination of filters, newest first by default, in keyset-paged slices. " +
      'Example: `{ events(filter: {accountIds: ["151266687691****"], failed: true}, first: 50) { edges { node { eventName eventTime } } pageInfo { endCursor hasNextPage } } }`',
  })
  events(@Args(() => EventsArgs) args: EventsArgs, @Ctx() ctx: Context, @Info() info: GraphQLResolveInfo) {
    return eventsConnection(ctx, "none", null, args, info);
  }

  @Query(() => [EventCount], {
    description:
      "Dashboard counts: the most frequent values of one field among the filtered events. When the filter is only a " +
      "time window (`from`, `to`, and `accountIds`), whole UTC days are read from a daily rollup and the partial first " +
      "and last day are counted from events, so the cost does not grow with the number of events; any other filter " +
      "counts the matching events. " +
      'Example: `{ eventCounts(by: EVENT_NAME, filter: {from: "2021-08-01T00:00:00Z"}, first: 5) { key count } }`',
  })
  eventCounts(@Args(() => EventCountsArgs) args: EventCountsArgs, @Ctx() ctx: Context) {
    return eventCounts(ctx, "none", null, args);
  }

  @Query(() => Account, {
    nullable: true,
    description:
      'One account by ID. Example: `{ account(accountId: "151266687691****") { orders { nodes { orderId } } } }`',
  })
  account(
    @Arg("accountId", () => ID, { description: "The account ID, e.g. `151266687691****`." }) accountId: string,
    @Ctx() ctx: Context,
  ): Promise<Account | null> {
    return ctx.accountById.load(accountId);
  }

  @Query(() => AccountConnection, {
    description: "Every account seen, by account ID. Example: `{ accounts(first: 10) { nodes { accountId } } }`",
  })
  accounts(@Args(() => PageArgs) args: PageArgs, @Ctx() ctx: Context) {
    return connection(ctx, AccountConnection, Account, ctx.store.accountList(), args);
  }

  @Query(() => Order, {
    nullable: true,
    description:
      'One order by ID. Example: `{ order(orderId: "2105464****") { items { resource { resourceId } articleConfig } } }`',
  })
  order(
    @Arg("orderId", () => ID, { description: "The order ID, e.g. `2105464****`." }) orderId: string,
    @Ctx() ctx: Context,
  ): Promise<Order | null> {
    return ctx.orderById.load(orderId);
  }

  @Query(() => OrderConnection, {
    description:
      'Orders, newest first. Example: `{ orders(filter: {from: "2021-08-01T00:00:00Z"}) { nodes { orderId createdAt } } }`',
  })
  orders(@Args(() => OrdersArgs) args: OrdersArgs, @Ctx() ctx: Context, @Info() info: GraphQLResolveInfo) {
    checkFilterLists(args.filter ?? {});
    return connection(
      ctx,
      OrderConnection,
      Order,
      ctx.store.orderList("none", args.filter, orderListShape(info)),
      args,
    );
  }

  @Query(() => ReferencedResource, {
    nullable: true,
    description:
      'One resource by type and ID. Example: `{ resource(type: "ACS::ECS::Instance", resourceId: "i-bp67acfmxazb4p****") { events(first: 5) { nodes { eventName } } } }`',
  })
  resource(
    @Arg("type", () => String, { description: "Resource type, e.g. `ACS::ECS::Instance`." }) type: string,
    @Arg("resourceId", () => ID, { description: "Resource ID, e.g. `i-bp67acfmxazb4p****`." }) resourceId: string,
    @Ctx() ctx: Context,
  ): Promise<ReferencedResource | null> {
    return ctx.resourceByKey.load({ type, resourceId });
  }

  @Query(() => ResourceConnection, {
    description:
      'Resources, in first-seen order. Example: `{ resources(filter: {types: ["ACS::ECS::Instance"]}) { nodes { resourceId } } }`',
  })
  resources(@Args(() => ResourcesArgs) args: ResourcesArgs, @Ctx() ctx: Context) {
    checkFilterLists(args.filter ?? {});
    return connection(ctx, ResourceConnection, ReferencedResource, ctx.store.resourceList("none", args.filter), args);
  }

  @Query(() => IngestRejectConnection, {
    description:
      "Records that could not be ingested (CLI and POST /ingest), newest first, with where they came from and why. " +
      "Example: `{ ingestRejects(first: 10) { nodes { source position reason } } }`",
  })
  ingestRejects(@Args(() => PageArgs) args: PageArgs, @Ctx() ctx: Context) {
    return connection(ctx, IngestRejectConnection, IngestReject, ctx.store.rejectList(), args);
  }

  @Query(() => [EventDefinition], {
    description:
      "The catalogued operations (Expenses and Costs OpenAPI) with descriptions. Example: `{ eventCatalog { eventName access } }`",
  })
  eventCatalog(): readonly EventDefinition[] {
    return EVENT_CATALOG as readonly EventDefinition[];
  }
}
