/**
 * The rollups behind `eventCounts`: `event_daily_counts` holds, per owning account, UTC day,
 * field and value, how many events there are; `event_period_counts` holds the same counts per
 * period of 8 and of 64 days (`PERIOD_SPANS`), so that a long window reads a few periods
 * instead of every day (`coverDays`). The writer adds the events each batch really inserted
 * to both (same transaction); `Store.topValues` sums whole days from them and counts the
 * partial first and last day from `events`.
 *
 * Encoding: `value` and `account_id` are NOT NULL (they are part of the primary key), and
 * the empty string stands for null: no value, or no owning account. The normaliser never
 * stores an empty or blank string (it reads them as absent), so `''` is unambiguous, also
 * under MySQL's PAD SPACE collations, where `''` equals any all-space string.
 */
import type { NormalizedEvent } from "../ingest/normalize";

export const DAILY_COUNTS_TABLE = "event_daily_counts";
export const PERIOD_COUNTS_TABLE = "event_period_counts";

/**
 * The lengths of the periods in `event_period_counts`, in days, longest first. A period of
 * `span` days starts on a day number (days since 1970-01-01) divisible by `span`, and each
 * span divides the longer ones, so periods nest: a window of whole days is covered by at most
 * runs of shorter periods, then days, on each side of a run of the longest periods that
 * fit. A 90-day window reads at most 20 days or periods instead of 90; a year, at most 29
 * instead of 365 (src/db/daily-counts.spec.ts).
 */
export const PERIOD_SPANS = [64, 8] as const;

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

/** Columns of a daily rollup row, in the order `DailyCounts.rows()` gives them. */
export const DAILY_COUNT_COLUMNS = ["account_id", "field", "day", "value", "n"] as const;
/** Columns of a period rollup row, in the order `DailyCounts.periodRows()` gives them. */
export const PERIOD_COUNT_COLUMNS = ["account_id", "field", "span", "start_day", "value", "n"] as const;

const DAY_MS = 86_400_000;

/** The UTC day of a time, as `YYYY-MM-DD` (the form both stores compare `day` with). */
export function utcDay(time: Date | number): string {
  return new Date(typeof time === "number" ? time : time.getTime()).toISOString().slice(0, 10);
}

/** A `YYYY-MM-DD` day as its number of days since 1970-01-01. */
export function dayNumber(day: string): number {
  return Date.parse(`${day}T00:00:00Z`) / DAY_MS;
}

/** The first day of the period of `span` days that holds `day`. */
export function periodStart(day: string, span: number): string {
  return utcDay(Math.floor(dayNumber(day) / span) * span * DAY_MS);
}

const compareKeys = ([a]: [string, number], [b]: [string, number]) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * A count's key: the account ID with its length in front, then NUL-separated parts of fixed
 * form (field, day, span), then the value, last. An account ID or a value may hold any
 * character, NUL too: the length and the last place keep every key apart and readable back.
 */
function countKey(accountId: string, middle: string, value: string): string {
  return `${accountId.length}:${accountId}\u0000${middle}\u0000${value}`;
}

/** `[accountId, ...middle parts, value]` of a countKey with `parts` fixed-form parts. */
function keyParts(key: string, parts: number): string[] {
  const colon = key.indexOf(":");
  const start = colon + 1;
  const end = start + Number(key.slice(0, colon));
  const rest = key.slice(end + 1);
  const middle: string[] = [];
  let at = 0;
  for (let part = 0; part < parts; part++) {
    const next = rest.indexOf("\u0000", at);
    middle.push(rest.slice(at, next));
    at = next + 1;
  }
  return [key.slice(start, end), ...middle, rest.slice(at)];
}

/** Counts of a set of events by (account, field, day, value), to be added to the table. */
export class DailyCounts {
  private readonly counts = new Map<string, number>();

  add(event: NormalizedEvent): void {
    const accountId = event.accountId ?? NO_VALUE;
    const day = utcDay(event.eventTime);
    for (const [field, valueOf] of Object.entries(DAILY_COUNT_FIELDS)) {
      const key = countKey(accountId, `${field}\u0000${day}`, valueOf(event) ?? NO_VALUE);
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
    return [...this.counts].sort(compareKeys).map(([key, n]) => {
      const [accountId, field, day, value] = keyParts(key, 2);
      return [accountId, field, day, value, n];
    });
  }

  /** Rows `[account_id, field, span, start_day, value, n]` of every span, in key order. */
  periodRows(): Array<[string, string, number, string, string, number]> {
    const periods = new Map<string, number>();
    for (const [key, n] of this.counts) {
      const [accountId, field, day, value] = keyParts(key, 2);
      for (const span of PERIOD_SPANS) {
        // Spans of one width sort together: zero-padded, as the key is compared as text.
        const period = countKey(
          accountId,
          `${field}\u0000${String(span).padStart(5, "0")}\u0000${periodStart(day, span)}`,
          value,
        );
        periods.set(period, (periods.get(period) ?? 0) + n);
      }
    }
    return [...periods].sort(compareKeys).map(([key, n]) => {
      const [accountId, field, span, start, value] = keyParts(key, 3);
      return [accountId, field, Number(span), start, value, n];
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

/** A run of whole days `[from, to)` (`YYYY-MM-DD`; null: unbounded on that side). */
export interface DayRange {
  from: string | null;
  to: string | null;
}

/** Where the rollups hold a run of whole days: runs of days, and runs of periods of a span. */
export interface DayCover {
  days: DayRange[];
  periods: Array<DayRange & { span: number }>;
}

/**
 * The fewest rollup rows' worth of days and periods (`PERIOD_SPANS`) that make up the whole
 * days `[from, to)` exactly: the longest periods that fit, then shorter ones, then days, on
 * each side. A period's range bounds its `start_day`. An unbounded side is read from the
 * longest periods.
 */
export function coverDays(from: string | null, to: string | null): DayCover {
  const cover: DayCover = { days: [], periods: [] };
  const day = (n: number | null) => (n === null ? null : utcDay(n * DAY_MS));
  const visit = (lo: number | null, hi: number | null, spans: readonly number[]): void => {
    if (lo !== null && hi !== null && lo >= hi) return;
    const [span, ...shorter] = spans;
    if (span === undefined) {
      cover.days.push({ from: day(lo), to: day(hi) });
      return;
    }
    const start = lo === null ? null : Math.ceil(lo / span) * span;
    const end = hi === null ? null : Math.floor(hi / span) * span;
    if (start !== null && end !== null && start >= end) return visit(lo, hi, shorter);
    cover.periods.push({ span, from: day(start), to: day(end) });
    if (lo !== null && start !== null) visit(lo, start, shorter);
    if (hi !== null && end !== null) visit(end, hi, shorter);
  };
  visit(from === null ? null : dayNumber(from), to === null ? null : dayNumber(to), PERIOD_SPANS);
  return cover;
}
