import type { GraphQLResolveInfo } from "graphql";
import { Args, Ctx, FieldResolver, Info, Resolver, Root } from "type-graphql";
import type { Context } from "../context";
import { Account, Order, ReferencedResource, UserIdentity } from "../entities";
import { EventConnection, OrderConnection, ResourceConnection, UserIdentityConnection } from "./connections";
import { AccountResourcesArgs, EventsArgs, PageArgs } from "./list.args";
import { connection, eventsConnection, orderListShape } from "./lists";
import { EventCount, eventCounts, EventCountsArgs } from "./event-counts";

@Resolver(() => Account)
export class AccountResolver {
  @FieldResolver(() => UserIdentityConnection, {
    description: "Identities of this account that made requests, in first-seen order.",
  })
  identities(@Root() account: Account, @Args(() => PageArgs) args: PageArgs, @Ctx() ctx: Context) {
    return connection(ctx, UserIdentityConnection, UserIdentity, ctx.store.identityList(), args, account.accountId);
  }

  @FieldResolver(() => EventConnection, {
    description: "Events that belong to this account, filtered and sorted as `Query.events`.",
  })
  events(
    @Root() account: Account,
    @Args(() => EventsArgs) args: EventsArgs,
    @Ctx() ctx: Context,
    @Info() info: GraphQLResolveInfo,
  ) {
    return eventsConnection(ctx, "account", account.accountId, args, info);
  }

  @FieldResolver(() => [EventCount], {
    description:
      "Dashboard counts over this account's events, e.g. its busiest operations in 90 days. As `Query.eventCounts`: " +
      "over a time window, whole UTC days are read from a daily rollup and partial days are counted from events.",
  })
  eventCounts(@Root() account: Account, @Args(() => EventCountsArgs) args: EventCountsArgs, @Ctx() ctx: Context) {
    return eventCounts(ctx, "account", account.accountId, args);
  }

  @FieldResolver(() => OrderConnection, { description: "Orders of this account, newest first." })
  orders(
    @Root() account: Account,
    @Args(() => PageArgs) args: PageArgs,
    @Ctx() ctx: Context,
    @Info() info: GraphQLResolveInfo,
  ) {
    const spec = ctx.store.orderList("account", null, orderListShape(info));
    return connection(ctx, OrderConnection, Order, spec, args, account.accountId);
  }

  @FieldResolver(() => ResourceConnection, {
    description: "Resources of this account, in first-seen order, optionally of one type.",
  })
  resources(
    @Root() account: Account,
    @Args(() => AccountResourcesArgs) args: AccountResourcesArgs,
    @Ctx() ctx: Context,
  ) {
    const spec = ctx.store.resourceList("account", { types: args.type ? [args.type] : null });
    return connection(ctx, ResourceConnection, ReferencedResource, spec, args, account.accountId);
  }
}
