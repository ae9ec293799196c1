import { Column, Entity, Index, PrimaryColumn } from "typeorm";
import { LIMITS } from "./columns";

/**
 * The daily rollup of `eventCounts` (see src/db/daily-counts.ts): how many events of an
 * account, on one UTC day, have one value of one field. Written only by the ingest writer,
 * for the events each batch inserted; `''` stands for null in `accountId` and `value`.
 */
@Entity({ name: "event_daily_counts" })
// Root eventCounts (no account): one field over a range of days, every account.
@Index("ix_event_daily_counts_field_day", ["field", "day"])
export class EventDailyCount {
  // Account.eventCounts and eventCounts(filter: {accountIds}): the primary key's prefix
  // (account_id, field) and a range of days.
  @PrimaryColumn({ type: "varchar", length: LIMITS.accountId, name: "account_id" })
  accountId: string;

  /** The EventCountField name, e.g. `EVENT_NAME`. */
  @PrimaryColumn({ type: "varchar", length: 32, name: "field" })
  field: string;

  /** The UTC day of the events. */
  @PrimaryColumn({ type: "date", name: "day" })
  day: string;

  /** Long enough for the longest groupable column (event_name, event_source, error_code). */
  @PrimaryColumn({ type: "varchar", length: LIMITS.name, name: "value" })
  value: string;

  @Column({ type: "int", name: "n" })
  n: number;
}
