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

  // JSON text the application writes (NormalizedEvent.payload.rawText), read back with
  // JSON.parse. LONGTEXT on MySQL (migration ExactText): MariaDB's JSON type refuses valid
  // JSON nested 32 levels or more or holding a lone surrogate escape.
  @Column({ type: "json", name: "raw" })
  raw: Record<string, unknown>;
}
