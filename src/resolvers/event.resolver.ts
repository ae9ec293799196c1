import { Ctx, FieldResolver, Resolver, Root } from "type-graphql";
import { findEventDefinition } from "../catalog";
import type { Context } from "../context";
import { Account, Event, Order, ReferencedResource, UserIdentity } from "../entities";
import { payloadParts } from "../ingest/normalize";
import { GraphQLJSON } from "../schema/scalars";
import { EventDefinition } from "./event-definition.type";

@Resolver(() => Event)
export class EventResolver {
  @FieldResolver(() => UserIdentity, { nullable: true, description: "Who made the request." })
  userIdentity(@Root() event: Event, @Ctx() ctx: Context): Promise<UserIdentity | null> | UserIdentity | null {
    if (event.identityPk === null) return null;
    // Read with the event by a list that knew the query wants it.
    return event.identity !== undefined ? event.identity : ctx.identityByPk.load(event.identityPk);
  }

  @FieldResolver(() => Account, { nullable: true, description: "The account the event belongs to." })
  account(@Root() event: Event, @Ctx() ctx: Context): Promise<Account | null> | null {
    return event.accountId === null ? null : ctx.accountById.load(event.accountId);
  }

  @FieldResolver(() => [ReferencedResource], {
    description:
      "Resources the event references (referencedResources, resource names, order items, InstanceId parameters).",
  })
  referencedResources(@Root() event: Event, @Ctx() ctx: Context): Promise<ReferencedResource[]> {
    return ctx.resourcesByEventPk.load(event.pk);
  }

  @FieldResolver(() => [Order], {
    description: "Orders the event names: the purchase, renewal, change, refund or query of each.",
  })
  orders(@Root() event: Event, @Ctx() ctx: Context): Promise<Order[]> {
    return ctx.ordersByEventPk.load(event.pk);
  }

  @FieldResolver(() => EventDefinition, {
    nullable: true,
    description: "The catalog entry of the operation, when it is a catalogued one.",
  })
  definition(@Root() event: Event): EventDefinition | null {
    return (event.eventName && (findEventDefinition(event.eventName) as EventDefinition | undefined)) || null;
  }

  @FieldResolver(() => GraphQLJSON, { nullable: true, description: "The request's parameters, as recorded." })
  requestParameters(@Root() event: Event, @Ctx() ctx: Context): Promise<unknown> {
    return payload(ctx, event, (raw) => payloadParts(raw).requestParameters);
  }

  @FieldResolver(() => GraphQLJSON, { nullable: true, description: "The response's elements, as recorded." })
  responseElements(@Root() event: Event, @Ctx() ctx: Context): Promise<unknown> {
    return payload(ctx, event, (raw) => payloadParts(raw).responseElements);
  }

  @FieldResolver(() => GraphQLJSON, {
    nullable: true,
    description: "Additional data (order IDs and configurations for purchases, sign-in details, ...).",
  })
  additionalEventData(@Root() event: Event, @Ctx() ctx: Context): Promise<unknown> {
    return payload(ctx, event, (raw) => payloadParts(raw).additionalEventData);
  }

  @FieldResolver(() => GraphQLJSON, {
    description: "The whole event exactly as it was ingested, unknown fields included.",
  })
  raw(@Root() event: Event, @Ctx() ctx: Context): Promise<unknown> {
    return payload(ctx, event, (raw) => raw);
  }
}

async function payload(ctx: Context, event: Event, pick: (raw: Record<string, unknown>) => unknown): Promise<unknown> {
  const found = await ctx.payloadByEventPk.load(event.pk);
  return found ? (pick(found.raw) ?? null) : null;
}
