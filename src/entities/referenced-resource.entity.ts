import { Directive, Field, ID, ObjectType } from "type-graphql";
import { Column, Entity, Index, PrimaryGeneratedColumn } from "typeorm";
import { Node } from "../schema/node";
import { LIMITS } from "./columns";

/** A cloud resource named by events or orders, identified by (type, resourceId). */
@Entity({ name: "resources" })
// resource(type, resourceId), ingest's upsert, and events(filter: {resourceIds}) by prefix.
@Index("uq_resources_id_type", ["resourceId", "type"], { unique: true })
// events(filter: {resourceTypes}) and resources(filter: {types}).
@Index("ix_resources_type", ["type", "pk"])
// Account.resources(type) and the tenant scope.
@Index("ix_resources_account_type", ["accountId", "type", "pk"])
// Federation: other subgraphs (a CMDB) reference and extend a resource by its type and ID.
@Directive('@key(fields: "type resourceId")')
@ObjectType("ReferencedResource", {
  simpleResolvers: true,
  implements: Node,
  description:
    "A cloud resource (an ECS instance, an RDS instance, a security group, ...) that events reference or orders bought.",
})
export class ReferencedResource extends Node {
  @PrimaryGeneratedColumn({ type: "bigint", name: "pk" })
  pk: number;

  @Column({ type: "varchar", length: LIMITS.resourceType, name: "type" })
  @Field(() => String, { description: "Resource type, e.g. `ACS::ECS::Instance`." })
  type: string;

  @Column({ type: "varchar", length: LIMITS.resourceId, name: "resource_id" })
  @Field(() => ID, { description: "Resource ID, e.g. `i-bp67acfmxazb4p****`." })
  resourceId: string;

  /**
   * The owner: the account of the earliest event naming the resource that has an account
   * (the smaller account ID on a tie). A minimum over all events, so the same whatever order
   * or grouping events arrive in.
   */
  @Column({ type: "varchar", length: LIMITS.accountId, name: "account_id", nullable: true })
  @Field(() => String, {
    nullable: true,
    description: "ID of the owning account: the account of the earliest event naming the resource.",
  })
  accountId: string | null;

  /** Time of the event that decided the owner (of the earliest event while none has an account). */
  @Column({ type: "datetime", precision: 3, name: "first_seen_at" })
  @Field(() => Date, { description: "When the earliest ingested event naming the resource (with its owner) happened." })
  firstSeenAt: Date;

  get nodeRef(): [string, string, string] {
    return ["ReferencedResource", this.type, this.resourceId];
  }
}
