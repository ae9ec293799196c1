import { Directive, Field, ID, ObjectType } from "type-graphql";
import { Column, Entity, Index, PrimaryGeneratedColumn } from "typeorm";
import { Node } from "../schema/node";
import { bigintNumber, LIMITS } from "./columns";
import type { UserIdentity } from "./user-identity.entity";

/**
 * One ActionTrail event. The wide JSON parts (request, response, additional data and the
 * original event) live in `event_payloads`, so that list queries read narrow rows.
 *
 * Every filterable column has an index whose leading column is that filter and whose tail
 * is the keyset `(event_time, pk)`, so a filter plus the cursor is one index range read
 * in either direction. The comment beside each index names the query it serves.
 */
@Entity({ name: "events" })
// event(eventId), node(id) and ingest's insert-or-ignore.
@Index("uq_events_event_id", ["eventId"], { unique: true })
// events(filter: {from, to}) with no other filter; the global time line.
@Index("ix_events_time", ["eventTime", "pk"])
// Account.events, events(filter: {accountIds}) and the tenant scope.
@Index("ix_events_account_time", ["accountId", "eventTime", "pk"])
// UserIdentity.events and the identity filters (principalIds, userNames, identityTypes, accessKeyIds).
@Index("ix_events_identity_time", ["identityPk", "eventTime", "pk"])
// events(filter: {eventNames}) and the dashboards' per-operation views.
@Index("ix_events_name_time", ["eventName", "eventTime", "pk"])
// events(filter: {eventTypes}).
@Index("ix_events_type_time", ["eventType", "eventTime", "pk"])
// events(filter: {serviceNames}).
@Index("ix_events_service_time", ["serviceName", "eventTime", "pk"])
// events(filter: {eventSources}).
@Index("ix_events_source_time", ["eventSource", "eventTime", "pk"])
// events(filter: {regions}).
@Index("ix_events_region_time", ["acsRegion", "eventTime", "pk"])
// events(filter: {sourceIpAddresses}).
@Index("ix_events_ip_time", ["sourceIpAddress", "eventTime", "pk"])
// events(filter: {errorCodes}).
@Index("ix_events_error_time", ["errorCode", "eventTime", "pk"])
// events(filter: {failed: true}): failures are about 2% of events.
@Index("ix_events_failed_time", ["failed", "eventTime", "pk"])
// events(filter: {eventRW}).
@Index("ix_events_rw_time", ["eventRW", "eventTime", "pk"])
// Federation: other subgraphs reference and extend an event by ActionTrail's eventId.
@Directive('@key(fields: "eventId")')
@ObjectType("Event", {
  simpleResolvers: true,
  implements: Node,
  description:
    "One management event recorded by ActionTrail: an API call, a console operation, a sign-in or an action of the platform itself.",
})
export class Event extends Node {
  /** Surrogate key: the keyset tie-breaker and the target of every link table. */
  @PrimaryGeneratedColumn({ type: "bigint", name: "pk" })
  pk: number;

  @Column({ type: "varchar", length: LIMITS.eventId, name: "event_id" })
  @Field(() => ID, {
    description:
      "ActionTrail's event ID: the identity of the event (a UUID, 24 hex digits, or a sign-in ID such as `1.167_1627549154939_1234`).",
  })
  eventId: string;

  @Column({ type: "datetime", precision: 3, name: "event_time" })
  @Field(() => Date, { description: "When the event happened (UTC)." })
  eventTime: Date;

  @Column({ type: "varchar", length: LIMITS.name, name: "event_name", nullable: true })
  @Field(() => String, { nullable: true, description: "The operation, e.g. `QueryBill`, `Create`, `ConsoleSignin`." })
  eventName: string | null;

  @Column({ type: "varchar", length: LIMITS.shortText, name: "event_type", nullable: true })
  @Field(() => String, {
    nullable: true,
    description: "`ApiCall`, `ConsoleOperation`, `ConsoleSignin`, `ConsoleSignout`, `AliyunServiceEvent`, ...",
  })
  eventType: string | null;

  @Column({ type: "varchar", length: LIMITS.shortText, name: "event_category", nullable: true })
  @Field(() => String, { nullable: true, description: "Event category, e.g. `Management`." })
  eventCategory: string | null;

  @Column({ type: "varchar", length: 16, name: "event_rw", nullable: true })
  @Field(() => String, { nullable: true, description: "`Read` or `Write`, as ActionTrail classifies the operation." })
  eventRW: string | null;

  @Column({ type: "varchar", length: 16, name: "event_version", nullable: true })
  @Field(() => String, { nullable: true, description: "Version of the event format." })
  eventVersion: string | null;

  @Column({ type: "varchar", length: LIMITS.name, name: "event_source", nullable: true })
  @Field(() => String, { nullable: true, description: "Endpoint that handled the request, e.g. `ecs.aliyuncs.com`." })
  eventSource: string | null;

  @Column({ type: "varchar", length: LIMITS.shortText, name: "service_name", nullable: true })
  @Field(() => String, { nullable: true, description: "The cloud service, e.g. `Ecs`, `BssOpenApi`, `Ram`." })
  serviceName: string | null;

  @Column({ type: "varchar", length: LIMITS.shortText, name: "acs_region", nullable: true })
  @Field(() => String, { nullable: true, description: "Region the event happened in, e.g. `cn-hangzhou`." })
  acsRegion: string | null;

  @Column({ type: "varchar", length: LIMITS.name, name: "request_id", nullable: true })
  @Field(() => String, { nullable: true, description: "ID of the request that caused the event." })
  requestId: string | null;

  @Column({ type: "varchar", length: LIMITS.shortText, name: "api_version", nullable: true })
  @Field(() => String, { nullable: true, description: "API version of the call, e.g. `2017-12-14`." })
  apiVersion: string | null;

  @Column({ type: "varchar", length: LIMITS.shortText, name: "source_ip_address", nullable: true })
  @Field(() => String, { nullable: true, description: "IP address the request came from (often masked)." })
  sourceIpAddress: string | null;

  // LONGTEXT on MySQL (migration ExactText): stored and answered whole, whatever its length.
  @Column({ type: "text", name: "user_agent", nullable: true })
  @Field(() => String, { nullable: true, description: "Client that sent the request, e.g. `AliyunConsole`." })
  userAgent: string | null;

  @Column({ type: "varchar", length: LIMITS.shortText, name: "vpc_id", nullable: true })
  @Field(() => String, { nullable: true, description: "VPC the request came through, if any." })
  vpcId: string | null;

  @Column({ type: "boolean", name: "is_global", nullable: true })
  @Field(() => Boolean, { nullable: true, description: "Whether the event is a global (not regional) one." })
  isGlobal: boolean | null;

  @Column({ type: "varchar", length: LIMITS.name, name: "error_code", nullable: true })
  @Field(() => String, { nullable: true, description: "Error code of a failed operation; null when it succeeded." })
  errorCode: string | null;

  // LONGTEXT on MySQL (migration ExactText): TEXT cut messages at 65,535 bytes.
  @Column({ type: "text", name: "error_message", nullable: true })
  @Field(() => String, { nullable: true, description: "Error message of a failed operation." })
  errorMessage: string | null;

  @Column({ type: "boolean", name: "failed" })
  @Field(() => Boolean, { description: "True when the operation failed (it has an error code)." })
  failed: boolean;

  @Column({ type: "boolean", name: "sensitive_action", nullable: true })
  @Field(() => Boolean, { nullable: true, description: "ActionTrail's `eventAttributes.SensitiveAction` flag." })
  sensitiveAction: boolean | null;

  @Column({ type: "varchar", length: LIMITS.accountId, name: "recipient_account_id", nullable: true })
  @Field(() => String, {
    nullable: true,
    description: "The account that received the event, when ActionTrail names it.",
  })
  recipientAccountId: string | null;

  /** The owning account: the identity's account, else recipientAccountId, else the one given at ingest. */
  @Column({ type: "varchar", length: LIMITS.accountId, name: "account_id", nullable: true })
  @Field(() => String, {
    nullable: true,
    description: "ID of the account the event belongs to; null when no source named one.",
  })
  accountId: string | null;

  @Column({ type: "bigint", name: "identity_pk", nullable: true, transformer: bigintNumber })
  identityPk: number | null;

  /**
   * The identity, when a list read it with the event (null: none, or outside the tenant
   * scope); undefined when it was not read. Not a column: `userIdentity` resolves from it.
   */
  identity?: UserIdentity | null;

  @Column({ type: "datetime", precision: 3, name: "session_created_at", nullable: true })
  @Field(() => Date, {
    nullable: true,
    description: "For role sessions: when the session was created (`sessionContext.attributes.creationDate`).",
  })
  sessionCreatedAt: Date | null;

  @Column({ type: "boolean", name: "mfa_authenticated", nullable: true })
  @Field(() => Boolean, {
    nullable: true,
    description: "Whether the session was authenticated with MFA (`sessionContext.attributes.mfaAuthenticated`).",
  })
  mfaAuthenticated: boolean | null;

  get nodeRef(): [string, string] {
    return ["Event", this.eventId];
  }
}
