import type { GraphQLResolveInfo } from "graphql";
import { Args, Ctx, FieldResolver, Info, Resolver, Root } from "type-graphql";
import type { Context } from "../context";
import { Account, UserIdentity } from "../entities";
import { EventConnection } from "./connections";
import { EventsArgs } from "./list.args";
import { eventsConnection } from "./lists";

@Resolver(() => UserIdentity)
export class UserIdentityResolver {
  @FieldResolver(() => Account, { nullable: true, description: "The account the identity belongs to." })
  account(@Root() identity: UserIdentity, @Ctx() ctx: Context): Promise<Account | null> | null {
    return identity.accountId === null ? null : ctx.accountById.load(identity.accountId);
  }

  @FieldResolver(() => EventConnection, {
    description: "Events this identity caused, filtered and sorted as `Query.events`.",
  })
  events(
    @Root() identity: UserIdentity,
    @Args(() => EventsArgs) args: EventsArgs,
    @Ctx() ctx: Context,
    @Info() info: GraphQLResolveInfo,
  ) {
    return eventsConnection(ctx, "identity", identity.pk, args, info);
  }
}
