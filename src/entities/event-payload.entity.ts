import { Column, Entity, PrimaryColumn } from "typeorm";
import { bigintNumber } from "./columns";

/**
 * The event exactly as it was ingested, unknown fields included, read only when a query
 * asks for it or for one of its JSON parts (requestParameters, responseElements,
 * additionalEventData are taken from it on read, so each event's JSON is stored once).
 */
@Entity({ name: "event_payloads" })
export class EventPayload {
  @PrimaryColumn({ type: "bigint", name: "event_pk", transformer: bigintNumber })
  eventPk: number;

  @Column({ type: "json", name: "raw" })
  raw: Record<string, unknown>;
}
