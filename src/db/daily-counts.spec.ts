import { describe, expect, it } from "vitest";
import { normalizeEvent } from "../ingest/normalize";
import {
  coverDays,
  DAILY_COUNT_FIELDS,
  DailyCounts,
  dayNumber,
  NO_VALUE,
  PERIOD_SPANS,
  periodStart,
  splitWindow,
  utcDay,
} from "./daily-counts";

const d = (iso: string) => new Date(iso);

describe("splitWindow", () => {
  it("keeps an aligned window whole", () => {
    expect(splitWindow(d("2025-01-02T00:00:00Z"), d("2025-04-02T00:00:00Z"))).toEqual({
      days: { from: "2025-01-02", to: "2025-04-02" },
      partial: [],
    });
  });

  it("leaves the partial first and last day to events", () => {
    expect(splitWindow(d("2025-01-01T13:27:11.123Z"), d("2025-01-04T05:00:00.001Z"))).toEqual({
      days: { from: "2025-01-02", to: "2025-01-04" },
      partial: [
        { from: d("2025-01-01T13:27:11.123Z"), to: d("2025-01-02T00:00:00Z") },
        { from: d("2025-01-04T00:00:00Z"), to: d("2025-01-04T05:00:00.001Z") },
      ],
    });
  });

  it("has no whole day within one day, across one midnight, or when empty", () => {
    for (const [from, to] of [
      ["2025-01-02T01:00:00Z", "2025-01-02T05:00:00Z"],
      ["2025-01-02T23:59:59.999Z", "2025-01-03T00:00:00.001Z"],
      ["2025-01-02T05:00:00Z", "2025-01-02T05:00:00Z"],
      ["2025-01-04T00:00:00Z", "2025-01-02T00:00:00Z"],
    ]) {
      expect(splitWindow(d(from), d(to))).toEqual({ days: null, partial: [{ from: d(from), to: d(to) }] });
    }
  });

  it("leaves an open side unbounded", () => {
    expect(splitWindow(null, d("2025-01-03T10:00:00Z"))).toEqual({
      days: { from: null, to: "2025-01-03" },
      partial: [{ from: d("2025-01-03T00:00:00Z"), to: d("2025-01-03T10:00:00Z") }],
    });
    expect(splitWindow(d("2025-01-03T00:00:00Z"), undefined)).toEqual({
      days: { from: "2025-01-03", to: null },
      partial: [],
    });
    expect(splitWindow(null, null)).toEqual({ days: { from: null, to: null }, partial: [] });
  });

  it("declines bounds outside the years events can have", () => {
    expect(splitWindow(d("1969-12-31T23:59:59Z"), null)).toBeNull();
    expect(splitWindow(null, d("9999-06-01T00:00:00Z"))).toBeNull();
  });
});

describe("coverDays", () => {
  const DAY = 86_400_000;
  const dayOf = (n: number) => utcDay(n * DAY);
  /** Every day a cover names, each once, or an error if a day is named twice. */
  function daysOf(from: string | null, to: string | null, lowest = 0, highest = 40_000): number[] {
    const cover = coverDays(from, to);
    const seen: number[] = [];
    const take = (start: number, end: number) => {
      for (let n = start; n < end; n++) seen.push(n);
    };
    const bound = (day: string | null, fallback: number) => (day === null ? fallback : dayNumber(day));
    for (const range of cover.days) take(bound(range.from, lowest), bound(range.to, highest));
    for (const range of cover.periods) {
      const start = bound(range.from, Math.floor(lowest / range.span) * range.span);
      const end = bound(range.to, Math.ceil(highest / range.span) * range.span);
      // A period's range bounds its start: aligned, so whole periods.
      expect(start % range.span, JSON.stringify(range)).toBe(0);
      expect(end % range.span, JSON.stringify(range)).toBe(0);
      take(start, end);
    }
    seen.sort((a, b) => a - b);
    expect(new Set(seen).size, `${from}..${to} names a day twice`).toBe(seen.length);
    return seen;
  }

  it("covers every window of whole days exactly, with at most 2 × 7 + 1 runs", () => {
    const base = dayNumber("2024-12-20");
    for (let start = base; start < base + 70; start += 3) {
      for (const length of [0, 1, 2, 7, 8, 9, 15, 16, 17, 63, 64, 65, 90, 130, 200, 366]) {
        const [from, to] = [dayOf(start), dayOf(start + length)];
        const days = daysOf(from, to);
        expect(days, `${from}..${to}`).toEqual(Array.from({ length }, (_, i) => start + i));
        const cover = coverDays(from, to);
        expect(cover.days.length + cover.periods.length).toBeLessThanOrEqual(5);
        // Rows read: days, and periods (each at most one row per value).
        const periods = cover.periods.reduce(
          (sum, range) => sum + (dayNumber(range.to!) - dayNumber(range.from!)) / range.span,
          0,
        );
        const dayCount = cover.days.reduce((sum, range) => sum + dayNumber(range.to!) - dayNumber(range.from!), 0);
        expect(periods + dayCount, `${from}..${to}`).toBeLessThanOrEqual(Math.min(length, 2 * 7 + 2 * 7 + 6));
      }
    }
  });

  it("reads at most 20 days or periods for 90 days, 29 for a year, wherever the window starts", () => {
    const rowsPerValue = (from: number, to: number) => {
      const cover = coverDays(dayOf(from), dayOf(to));
      const days = cover.days.reduce((sum, range) => sum + dayNumber(range.to!) - dayNumber(range.from!), 0);
      const periods = cover.periods.reduce(
        (sum, range) => sum + (dayNumber(range.to!) - dayNumber(range.from!)) / range.span,
        0,
      );
      return days + periods;
    };
    for (const [length, most] of [
      [90, 20],
      [365, 29],
    ]) {
      const worst = Math.max(...Array.from({ length: 128 }, (_, i) => rowsPerValue(20_000 + i, 20_000 + i + length)));
      expect(worst, `${length} days`).toBe(most);
    }
  });

  it("reads a 90-day window from periods where they fit", () => {
    expect(coverDays("2024-10-10", "2025-01-08")).toEqual({
      days: [{ from: "2024-10-10", to: "2024-10-12" }],
      periods: [
        { span: 64, from: "2024-11-05", to: "2025-01-08" },
        { span: 8, from: "2024-10-12", to: "2024-11-05" },
      ],
    });
    expect(dayNumber("2024-11-05") % 64).toBe(0);
    expect(dayNumber("2024-10-12") % 8).toBe(0);
  });

  it("reads an unbounded side from the longest periods", () => {
    expect(coverDays(null, null)).toEqual({ days: [], periods: [{ span: 64, from: null, to: null }] });
    // Every day before 2025-01-03, from the first period on (days before it hold no data here).
    const first = Math.floor(dayNumber("2024-06-01") / 64) * 64;
    expect(daysOf(null, "2025-01-03", dayNumber("2024-06-01"), dayNumber("2025-03-01"))).toEqual(
      Array.from({ length: dayNumber("2025-01-03") - first }, (_, i) => first + i),
    );
    const fromOnly = coverDays("2025-01-03", null);
    expect(fromOnly.periods[0]).toEqual({ span: 64, from: "2025-01-08", to: null });
    expect(dayNumber("2025-01-08") % 64).toBe(0);
  });

  it("names a day's periods by their first day", () => {
    expect(PERIOD_SPANS).toEqual([64, 8]);
    expect(periodStart("2025-01-07", 8)).toBe("2024-12-31");
    expect(periodStart("2025-01-08", 8)).toBe("2025-01-08");
    expect(periodStart("2025-01-07", 64)).toBe("2024-11-05");
    expect(periodStart("1970-01-01", 64)).toBe("1970-01-01");
  });
});

describe("DailyCounts", () => {
  const event = (overrides: Record<string, unknown>) =>
    normalizeEvent({
      eventId: String(Math.random()),
      eventTime: "2025-01-02T23:59:59.999Z",
      eventName: "QueryBill",
      eventType: "ApiCall",
      userIdentity: { type: "ram-user", accountId: "1", userName: "u" },
      ...overrides,
    });

  it("counts each event once per field, by account, UTC day and value, '' for null", () => {
    const counts = new DailyCounts();
    counts.add(event({}));
    counts.add(event({ eventTime: "2025-01-03T00:00:00Z" }));
    counts.add(event({ eventName: "" }));
    counts.add(event({ userIdentity: { type: "system" } }));
    const rows = counts.rows();
    const names = rows.filter((row) => row[1] === "EVENT_NAME");
    expect(names).toEqual([
      ["", "EVENT_NAME", "2025-01-02", "QueryBill", 1],
      ["1", "EVENT_NAME", "2025-01-02", "", 1],
      ["1", "EVENT_NAME", "2025-01-02", "QueryBill", 1],
      ["1", "EVENT_NAME", "2025-01-03", "QueryBill", 1],
    ]);
    expect(rows.filter((row) => row[1] === "ACCOUNT_ID").map((row) => [row[0], row[3], row[4]])).toEqual([
      ["", "", 1],
      ["1", "1", 2],
      ["1", "1", 1],
    ]);
    expect(rows.reduce((sum, row) => sum + row[4], 0)).toBe(4 * Object.keys(DAILY_COUNT_FIELDS).length);
  });

  it("sums the days of each period of each span", () => {
    const counts = new DailyCounts();
    for (const eventTime of [
      "2025-01-07T10:00:00Z",
      "2025-01-07T11:00:00Z",
      "2025-01-08T00:00:00Z",
      "2025-03-20T00:00:00Z",
    ]) {
      counts.add(event({ eventTime }));
    }
    const names = counts.periodRows().filter((row) => row[1] === "EVENT_NAME");
    expect(names).toEqual([
      ["1", "EVENT_NAME", 8, "2024-12-31", "QueryBill", 2],
      ["1", "EVENT_NAME", 8, "2025-01-08", "QueryBill", 1],
      ["1", "EVENT_NAME", 8, "2025-03-13", "QueryBill", 1],
      ["1", "EVENT_NAME", 64, "2024-11-05", "QueryBill", 2],
      ["1", "EVENT_NAME", 64, "2025-01-08", "QueryBill", 1],
      ["1", "EVENT_NAME", 64, "2025-03-13", "QueryBill", 1],
    ]);
    for (const span of PERIOD_SPANS) {
      const total = counts
        .periodRows()
        .filter((row) => row[2] === span)
        .reduce((sum, row) => sum + row[5], 0);
      expect(total).toBe(4 * Object.keys(DAILY_COUNT_FIELDS).length);
    }
  });

  it("keeps account IDs and values holding NUL, colons and digits apart and whole", () => {
    const counts = new DailyCounts();
    const odd = [
      ["1", "a\u0000EVENT_NAME\u00002025-01-02\u0000b"],
      ["1\u0000EVENT_NAME", "x"],
      ["2:1", "\u0000"],
      ["2", "1:\u0000"],
    ];
    for (const [accountId, eventName] of odd)
      counts.add(event({ userIdentity: { type: "ram-user", accountId }, eventName }));
    const names = counts.rows().filter((row) => row[1] === "EVENT_NAME");
    expect(names.map(([accountId, , day, value, n]) => [accountId, value, day, n]).sort()).toEqual(
      odd.map(([accountId, eventName]) => [accountId, eventName, "2025-01-02", 1]).sort(),
    );
    const periods = counts.periodRows().filter((row) => row[1] === "EVENT_NAME" && row[2] === 8);
    expect(periods.map(([accountId, , , start, value]) => [accountId, value, start]).sort()).toEqual(
      odd.map(([accountId, eventName]) => [accountId, eventName, "2024-12-31"]).sort(),
    );
  });

  it("relies on the normaliser never storing an empty or blank value", () => {
    const blank = event({
      eventName: "  ",
      eventType: "",
      eventRW: "\t",
      serviceName: "",
      eventSource: " ",
      acsRegion: "",
      sourceIpAddress: " ",
      errorCode: "",
      recipientAccountId: " ",
      userIdentity: { type: "system", accountId: "" },
    });
    for (const [field, valueOf] of Object.entries(DAILY_COUNT_FIELDS)) expect(valueOf(blank), field).toBeNull();
    expect(utcDay(blank.eventTime)).toBe("2025-01-02");
    expect(NO_VALUE).toBe("");
  });
});
