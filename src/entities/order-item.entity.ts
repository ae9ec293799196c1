import { Field, ObjectType } from "type-graphql";
import { Column, Entity, Index, PrimaryColumn } from "typeorm";
import { GraphQLJSON } from "graphql-scalars";
import { bigintNumber, LIMITS } from "./columns";
import type { ReferencedResource } from "./referenced-resource.entity";

/** One resource an order bought, with the configuration it was bought with. */
@Entity({ name: "order_items" })
// ReferencedResource.orders.
@Index("ix_order_items_resource", ["resourcePk", "orderId"])
@ObjectType("OrderItem", {
  simpleResolvers: true,
  description: "One resource bought by an order, with its configuration.",
})
export class OrderItem {
  @PrimaryColumn({ type: "varchar", length: LIMITS.orderId, name: "order_id" })
  orderId: string;

  @PrimaryColumn({ type: "bigint", name: "resource_pk", transformer: bigintNumber })
  resourcePk: number;

  @Column({ type: "json", name: "article_config", nullable: true })
  @Field(() => GraphQLJSON, {
    nullable: true,
    description:
      "The configuration bought (`articleConfig`: instance type, disks, bandwidth, ...), as the event gave it.",
  })
  articleConfig: Record<string, unknown> | null;

  /**
   * The resource, when it was read with the item (null: outside the tenant scope); undefined
   * when it was not read. Not a column: `resource` resolves from it.
   */
  resource?: ReferencedResource | null;
}
