import type { GraphQLResolveInfo } from "graphql";
import { Args, Ctx, FieldResolver, Info, Resolver, Root } from "type-graphql";
import type { Context } from "../context";
import { Account, Order, ReferencedResource } from "../entities";
import { EventConnection } from "./connections";
import { EventsArgs } from "./list.args";
import { eventsConnection } from "./lists";

@Resolver(() => ReferencedResource)
export class ResourceResolver {
  @FieldResolver(() => Account, { nullable: true, description: "The account that owns the resource." })
  account(@Root() resource: ReferencedResource, @Ctx() ctx: Context): Promise<Account | null> | null {
    return resource.accountId === null ? null : ctx.accountById.load(resource.accountId);
  }

  @FieldResolver(() => [Order], { description: "Orders that bought or renewed this resource, oldest first." })
  orders(@Root() resource: ReferencedResource, @Ctx() ctx: Context): Promise<Order[]> {
    return ctx.ordersByResourcePk.load(resource.pk);
  }

  @FieldResolver(() => EventConnection, {
    description: "Every event that touched this resource, filtered and sorted as `Query.events`.",
  })
  events(
    @Root() resource: ReferencedResource,
    @Args(() => EventsArgs) args: EventsArgs,
    @Ctx() ctx: Context,
    @Info() info: GraphQLResolveInfo,
  ) {
    return eventsConnection(ctx, "resource", resource.pk, args, info);
  }
}
