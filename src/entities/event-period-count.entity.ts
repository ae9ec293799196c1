import { Column, Entity, Index, PrimaryColumn } from "typeorm";
import { LIMITS } from "./columns";

/**
 * The period rollup of `eventCounts` (see src/db/daily-counts.ts): how many events of an
 * account, in one period of `span` days (8 or 64, starting on a day number divisible by the
 * span), have one value of one field. The sum of `event_daily_counts` over the period's days;
 * written only by the ingest writer, in the same transaction; `''` stands for null in
 * `accountId` and `value`.
 */
@Entity({ name: "event_period_counts" })
// Root eventCounts (no account): one field over a range of periods, every account.
@Index("ix_event_period_counts_field_span_start", ["field", "span", "startDay"])
export class EventPeriodCount {
  // Account.eventCounts: the primary key's prefix (account_id, field, span) and a range of
  // start days.
  @PrimaryColumn({ type: "varchar", length: LIMITS.accountId, name: "account_id" })
  accountId: string;

  /** The EventCountField name, e.g. `EVENT_NAME`. */
  @PrimaryColumn({ type: "varchar", length: 32, name: "field" })
  field: string;

  /** The period's length in days. */
  @PrimaryColumn({ type: "smallint", name: "span" })
  span: number;

  /** The period's first UTC day. */
  @PrimaryColumn({ type: "date", name: "start_day" })
  startDay: string;

  @PrimaryColumn({ type: "varchar", length: LIMITS.name, name: "value" })
  value: string;

  /** A 64-day period of a busy account can pass 2^31 events. */
  @Column({ type: "bigint", name: "n" })
  n: string;
}
