import { describe, expect, it } from "vitest";
import { normalizeEvent } from "../ingest/normalize";
import { DAILY_COUNT_FIELDS, DailyCounts, NO_VALUE, splitWindow, utcDay } from "./daily-counts";

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
