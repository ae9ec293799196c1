/**
 * The daily rollup behind `eventCounts`: `event_daily_counts` holds, per owning account,
 * UTC day, field and value, how many events there are. The writer adds the events each
 * batch really inserted (same transaction); `Store.topValues` sums whole days from it and
 * counts the partial first and last day from `events`.
 *
 * Encoding: `value` and `account_id` are NOT NULL (they are part of the primary key), and
 * the empty string stands for null: no value, or no owning account. The normaliser never
 * stores an empty or blank string (it reads them as absent), so `''` is unambiguous, also
 * under MySQL's PAD SPACE collations, where `''` equals any all-space string.
 */
import type { NormalizedEvent } from "../ingest/normalize";

export const DAILY_COUNTS_TABLE = "event_daily_counts";

/** What `value` (and `account_id`) hold for a null. */
export const NO_VALUE = "";

/**
 * The EventCountFields the rollup keeps, with the value of each in a normalized event (the
 * very value the writer stores in the events column of `EVENT_GROUP_COLUMNS`).
 */
export const DAILY_COUNT_FIELDS = {
  EVENT_NAME: (e: NormalizedEvent) => e.eventName,
  EVENT_TYPE: (e: NormalizedEvent) => e.eventType,
  EVENT_RW: (e: NormalizedEvent) => e.eventRW,
  SERVICE_NAME: (e: NormalizedEvent) => e.serviceName,
  EVENT_SOURCE: (e: NormalizedEvent) => e.eventSource,
  REGION: (e: NormalizedEvent) => e.acsRegion,
  ACCOUNT_ID: (e: NormalizedEvent) => e.accountId,
  SOURCE_IP_ADDRESS: (e: NormalizedEvent) => e.sourceIpAddress,
  ERROR_CODE: (e: NormalizedEvent) => e.errorCode,
} as const;

export type DailyCountField = keyof typeof DAILY_COUNT_FIELDS;

export function isDailyCountField(field: string): field is DailyCountField {
  return Object.hasOwn(DAILY_COUNT_FIELDS, field);
}

/** Columns of a rollup row, in the order `DailyCounts.rows()` gives them. */
export const DAILY_COUNT_COLUMNS = ["account_id", "field", "day", "value", "n"] as const;

const DAY_MS = 86_400_000;

/** The UTC day of a time, as `YYYY-MM-DD` (the form both stores compare `day` with). */
export function utcDay(time: Date | number): string {
  return new Date(typeof time === "number" ? time : time.getTime()).toISOString().slice(0, 10);
}

/** Counts of a set of events by (account, field, day, value), to be added to the table. */
export class DailyCounts {
  private readonly counts = new Map<string, number>();

  add(event: NormalizedEvent): void {
    const prefix = `${event.accountId ?? NO_VALUE}\u0000`;
    const day = `\u0000${utcDay(event.eventTime)}\u0000`;
    for (const [field, valueOf] of Object.entries(DAILY_COUNT_FIELDS)) {
      const key = `${prefix}${field}${day}${valueOf(event) ?? NO_VALUE}`;
      this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    }
  }

  get size(): number {
    return this.counts.size;
  }

  /**
   * Rows `[account_id, field, day, value, n]`, in key order, so that concurrent writers
   * lock shared rows in the same order.
   */
  rows(): Array<[string, string, string, string, number]> {
    return [...this.counts]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, n]) => {
        const [accountId, field, day, value] = key.split("\u0000");
        return [accountId, field, day, value, n];
      });
  }

  clear(): void {
    this.counts.clear();
  }
}

/**
 * How a time window `[from, to)` splits for the rollup: whole UTC days `[firstDay, endDay)`
 * (null: unbounded on that side; `days` null when the window holds no whole day) and the
 * partial days left over, to be counted from events. Null when the rollup cannot serve the
 * window (a bound outside the years the events can have, 1970 to 9998).
 */
export interface WindowSplit {
  days: { from: string | null; to: string | null } | null;
  partial: Array<{ from: Date | null; to: Date | null }>;
}

const EARLIEST = Date.UTC(1970, 0, 1);
const LATEST = Date.UTC(9999, 0, 1);

export function splitWindow(from: Date | null | undefined, to: Date | null | undefined): WindowSplit | null {
  for (const bound of [from, to]) {
    if (bound && !(bound.getTime() >= EARLIEST && bound.getTime() < LATEST)) return null;
  }
  const start = from ? Math.ceil(from.getTime() / DAY_MS) * DAY_MS : null;
  const end = to ? Math.floor(to.getTime() / DAY_MS) * DAY_MS : null;
  if (start !== null && end !== null && start >= end) {
    // Not one whole day: the window is counted from events alone.
    return { days: null, partial: [{ from: from ?? null, to: to ?? null }] };
  }
  const partial: WindowSplit["partial"] = [];
  if (from && start !== null && from.getTime() < start) partial.push({ from, to: new Date(start) });
  if (to && end !== null && end < to.getTime()) partial.push({ from: new Date(end), to });
  return {
    days: { from: start === null ? null : utcDay(start), to: end === null ? null : utcDay(end) },
    partial,
  };
}
