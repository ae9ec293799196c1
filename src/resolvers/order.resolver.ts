import type { GraphQLResolveInfo } from "graphql";
import { Args, Ctx, FieldResolver, Info, Resolver, Root } from "type-graphql";
import type { Context } from "../context";
import { Account, Event, Order, OrderItem, ReferencedResource } from "../entities";
import { EventConnection } from "./connections";
import { EventsArgs } from "./list.args";
import { eventsConnection } from "./lists";

@Resolver(() => Order)
export class OrderResolver {
  @FieldResolver(() => Account, { nullable: true, description: "The account the order belongs to." })
  account(@Root() order: Order, @Ctx() ctx: Context): Promise<Account | null> | null {
    return order.accountId === null ? null : ctx.accountById.load(order.accountId);
  }

  @FieldResolver(() => Event, {
    nullable: true,
    description: "The event that placed the order (a buy-page `Create`, `CreateInstance`, ...), when ingested.",
  })
  purchaseEvent(@Root() order: Order, @Ctx() ctx: Context): Promise<Event | null> | null {
    return order.purchaseEventPk === null ? null : ctx.eventByPk.load(order.purchaseEventPk);
  }

  @FieldResolver(() => [OrderItem], { description: "What the order bought: each resource with its configuration." })
  items(@Root() order: Order, @Ctx() ctx: Context): Promise<OrderItem[]> | OrderItem[] {
    return itemsOf(order, ctx);
  }

  @FieldResolver(() => [ReferencedResource], { description: "The resources the order bought." })
  async resources(@Root() order: Order, @Ctx() ctx: Context): Promise<ReferencedResource[]> {
    const items = await itemsOf(order, ctx);
    const resources = await Promise.all(items.map((item) => resourceOf(item, ctx)));
    return resources.filter((resource): resource is ReferencedResource => resource instanceof ReferencedResource);
  }

  @FieldResolver(() => EventConnection, {
    description: "The order's lifecycle: every event that names it, filtered and sorted as `Query.events`.",
  })
  events(
    @Root() order: Order,
    @Args(() => EventsArgs) args: EventsArgs,
    @Ctx() ctx: Context,
    @Info() info: GraphQLResolveInfo,
  ) {
    return eventsConnection(ctx, "order", order.orderId, args, info);
  }
}

@Resolver(() => OrderItem)
export class OrderItemResolver {
  @FieldResolver(() => ReferencedResource, { nullable: true, description: "The resource bought." })
  resource(
    @Root() item: OrderItem,
    @Ctx() ctx: Context,
  ): Promise<ReferencedResource | null> | ReferencedResource | null {
    return resourceOf(item, ctx);
  }

  @FieldResolver(() => Order, { nullable: true, description: "The order the item belongs to." })
  order(@Root() item: OrderItem, @Ctx() ctx: Context): Promise<Order | null> {
    return ctx.orderById.load(item.orderId);
  }
}

/** An order's items: read with its page, or by the items loader. */
function itemsOf(order: Order, ctx: Context): Promise<OrderItem[]> | OrderItem[] {
  return order.items ?? ctx.itemsByOrderId.load(order.orderId);
}

/** An item's resource: read with the item (both ways of reading items do), or by the loader. */
function resourceOf(item: OrderItem, ctx: Context): Promise<ReferencedResource | null> | ReferencedResource | null {
  return item.resource !== undefined ? item.resource : ctx.resourceByPk.load(item.resourcePk);
}
