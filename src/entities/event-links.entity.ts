import { Column, Entity, Index, PrimaryColumn } from "typeorm";
import { bigintNumber, LIMITS } from "./columns";

/**
 * Event ↔ resource. `event_time` is copied from the event so that a resource's events are
 * one index range in keyset order, without sorting every event the resource ever had.
 */
@Entity({ name: "event_resources" })
// ReferencedResource.events and events(filter: {resourceIds | resourceTypes}).
@Index("ix_event_resources_resource_time", ["resourcePk", "eventTime", "eventPk"])
export class EventResource {
  @PrimaryColumn({ type: "bigint", name: "event_pk", transformer: bigintNumber })
  eventPk: number;

  @PrimaryColumn({ type: "bigint", name: "resource_pk", transformer: bigintNumber })
  resourcePk: number;

  @Column({ type: "datetime", precision: 3, name: "event_time" })
  eventTime: Date;
}

/** Event ↔ order, with the event's time for the same reason as event_resources. */
@Entity({ name: "event_orders" })
// Order.events and events(filter: {orderIds}).
@Index("ix_event_orders_order_time", ["orderId", "eventTime", "eventPk"])
export class EventOrder {
  @PrimaryColumn({ type: "bigint", name: "event_pk", transformer: bigintNumber })
  eventPk: number;

  @PrimaryColumn({ type: "varchar", length: LIMITS.orderId, name: "order_id" })
  orderId: string;

  @Column({ type: "datetime", precision: 3, name: "event_time" })
  eventTime: Date;
}
