import { Field, ID, ObjectType } from "type-graphql";
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
@ObjectType("ReferencedResource", {
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

  /** The account of the first event that named the resource. */
  @Column({ type: "varchar", length: LIMITS.accountId, name: "account_id", nullable: true })
  @Field(() => String, {
    nullable: true,
    description: "ID of the account that owns the resource, as the first event naming it says.",
  })
  accountId: string | null;

  get nodeRef(): [string, string, string] {
    return ["ReferencedResource", this.type, this.resourceId];
  }
}
