import { Directive, Field, ID, ObjectType } from "type-graphql";
import { Column, Entity, Index, PrimaryColumn } from "typeorm";
import { Node } from "../schema/node";
import { bigintNumber, LIMITS } from "./columns";
import type { OrderItem } from "./order-item.entity";

/**
 * A purchase order, read from purchase and renewal events and from the Expenses and Costs
 * API events that name it. Its events (event_orders) are its lifecycle.
 */
@Entity({ name: "orders" })
// Account.orders, newest first, and the tenant scope.
@Index("ix_orders_account_created", ["accountId", "createdAt", "orderId"])
// orders() across accounts, newest first.
@Index("ix_orders_created", ["createdAt", "orderId"])
// Federation: other subgraphs reference and extend an order by its ID.
@Directive('@key(fields: "orderId")')
@ObjectType("Order", {
  simpleResolvers: true,
  implements: Node,
  description:
    "A purchase order: what was bought (its items), by whom, and every event in its life (purchase, renewals, changes, refunds, queries).",
})
export class Order extends Node {
  @PrimaryColumn({ type: "varchar", length: LIMITS.orderId, name: "order_id" })
  @Field(() => ID, { description: "The order ID, e.g. `2105464****`." })
  orderId: string;

  @Column({ type: "varchar", length: LIMITS.accountId, name: "account_id", nullable: true })
  @Field(() => String, { nullable: true, description: "ID of the account the order belongs to." })
  accountId: string | null;

  /** The purchase event's time when known, else the earliest event that names the order. */
  @Column({ type: "datetime", precision: 3, name: "created_at" })
  @Field(() => Date, {
    description: "When the order was placed: its purchase event's time, or the earliest event that names it.",
  })
  createdAt: Date;

  @Column({ type: "bigint", name: "purchase_event_pk", nullable: true, transformer: bigintNumber })
  purchaseEventPk: number | null;

  /**
   * The items, when they were read with the order (an order page whose query asks for them);
   * undefined when not. Not a column: `items` resolves from it.
   */
  items?: OrderItem[];

  get nodeRef(): [string, string] {
    return ["Order", this.orderId];
  }
}
