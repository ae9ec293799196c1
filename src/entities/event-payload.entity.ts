import { Column, Entity, PrimaryColumn } from "typeorm";
import { bigintNumber } from "./columns";

/** The JSON parts of an event, read only when a query asks for them. */
@Entity({ name: "event_payloads" })
export class EventPayload {
  @PrimaryColumn({ type: "bigint", name: "event_pk", transformer: bigintNumber })
  eventPk: number;

  @Column({ type: "json", name: "request_parameters", nullable: true })
  requestParameters: unknown;

  @Column({ type: "json", name: "response_elements", nullable: true })
  responseElements: unknown;

  @Column({ type: "json", name: "additional_event_data", nullable: true })
  additionalEventData: unknown;

  /** The event exactly as it was ingested, unknown fields included. */
  @Column({ type: "json", name: "raw" })
  raw: unknown;
}
