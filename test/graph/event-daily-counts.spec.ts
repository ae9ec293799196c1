/**
 * The rollups behind `eventCounts` (event_daily_counts, event_period_counts): the answers they
 * give equal the GROUP BY over every event of the window, for windows aligned to days or not,
 * within one day, empty, unbounded, read from days, 8-day and 64-day periods, per account and
 * at the root, with account filters and restricted tenant scopes; the writer keeps both exact
 * through re-deliveries, duplicates, overlapping and concurrent ingests; their migrations
 * backfill them from the events already stored.
 */
import type { DataSource } from "typeorm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DAILY_COUNT_FIELDS, dayNumber, PERIOD_SPANS, utcDay } from "../../src/db/daily-counts";
import { dialectOf } from "../../src/db/dialect";
import { TenantScope } from "../../src/db/scope";
import {
  Store,
  type CountsSpec,
  type EventAnchor,
  type EventFilterValues,
  type EventGroupField,
} from "../../src/db/store";
import { generateEvents } from "../../src/generate/generator";
import { ingest } from "../../src/ingest/ingest";
import { normalizeEvent } from "../../src/ingest/normalize";
import { EventWriter } from "../../src/ingest/writer";
import { buildEvent, ramUser, systemIdentity } from "../support/event-builder";
import { arraySource, dataOf, openTestStore, type TestStore } from "../support/harness";
import { storesUnderTest } from "../support/stores";

const FIELDS = Object.keys(DAILY_COUNT_FIELDS) as EventGroupField[];
const START = "2025-01-01T00:00:00Z";
const d = (iso: string) => new Date(iso);

/**
 * Generated activity over twelve days (2025-01-01 to 2025-01-12: across the start of an 8-day
 * and a 64-day period, 2025-01-08), plus events on the edges of days and without values.
 */
function dataset(): Array<Record<string, unknown>> {
  const generated = [...generateEvents({ events: 2500, accounts: 5, seed: 11, days: 12, start: d(START) })];
  const owner = String((generated[0].userIdentity as Record<string, unknown>).accountId);
  const edges = [
    // Around midnight of 2025-01-03 and within the first day's last millisecond.
    buildEvent({ eventTime: "2025-01-02T23:59:59.999Z", userIdentity: ramUser("edge", owner) }),
    buildEvent({ eventTime: "2025-01-03T00:00:00.000Z", userIdentity: ramUser("edge", owner) }),
    buildEvent({ eventTime: "2025-01-03T00:00:00.001Z", userIdentity: ramUser("edge", owner) }),
    buildEvent({ eventTime: "2025-01-02T12:00:00.123Z", userIdentity: ramUser("edge", owner), eventName: "Midday" }),
    // No value for several fields: null keys.
    buildEvent({
      eventTime: "2025-01-02T08:00:00Z",
      eventName: undefined,
      acsRegion: "",
      sourceIpAddress: "   ",
      eventRW: undefined,
      userIdentity: ramUser("edge", owner),
    }),
    // Events that belong to no account, on several days.
    ...["2025-01-01T03:00:00Z", "2025-01-02T23:00:00Z", "2025-01-03T00:00:00Z", "2025-01-04T12:00:00Z"].map(
      (eventTime, index) =>
        buildEvent({
          eventTime,
          userIdentity: systemIdentity(),
          recipientAccountId: undefined,
          eventName: index % 2 ? "AutoRenew" : undefined,
        }),
    ),
  ];
  return [...generated, ...edges];
}

/** Windows: [label, filter, whether the rollup serves it]. */
const WINDOWS: Array<[string, EventFilterValues, boolean]> = [
  ["no window", {}, true],
  ["aligned days", { from: d("2025-01-02T00:00:00Z"), to: d("2025-01-04T00:00:00Z") }, true],
  ["one whole day", { from: d("2025-01-03T00:00:00Z"), to: d("2025-01-04T00:00:00Z") }, true],
  ["unaligned ends", { from: d("2025-01-01T13:27:11.123Z"), to: d("2025-01-04T05:00:00.001Z") }, true],
  ["1 ms before a whole day", { from: d("2025-01-02T23:59:59.999Z"), to: d("2025-01-04T00:00:00Z") }, true],
  ["1 ms after a whole day", { from: d("2025-01-02T00:00:00Z"), to: d("2025-01-03T00:00:00.001Z") }, true],
  ["across one midnight", { from: d("2025-01-02T23:59:59.999Z"), to: d("2025-01-03T00:00:00.001Z") }, false],
  ["within one day", { from: d("2025-01-02T01:00:00Z"), to: d("2025-01-02T13:00:00Z") }, false],
  ["spanning the data", { from: d("2024-12-01T00:00:00Z"), to: d("2025-02-01T00:00:00Z") }, true],
  ["only from", { from: d("2025-01-02T10:00:00Z") }, true],
  ["only to", { to: d("2025-01-03T10:00:00Z") }, true],
  ["empty", { from: d("2025-01-03T10:00:00Z"), to: d("2025-01-03T10:00:00Z") }, false],
  ["inverted", { from: d("2025-01-04T00:00:00Z"), to: d("2025-01-02T00:00:00Z") }, false],
  ["after the data", { from: d("2030-01-01T00:00:00Z"), to: d("2030-02-01T00:00:00Z") }, true],
  ["from before 1970", { from: d("1960-01-01T00:00:00Z"), to: d("2025-01-03T00:00:00Z") }, false],
  // Periods: [2024-12-31, 2025-01-08) of 8 days with days on both sides.
  ["an 8-day period and days", { from: d("2024-12-30T00:00:00Z"), to: d("2025-01-11T00:00:00Z") }, true],
  ["a period, unaligned ends", { from: d("2024-12-30T13:00:00Z"), to: d("2025-01-10T05:00:00.001Z") }, true],
  // [2024-11-05, 2025-01-08) of 64 days, [2025-01-08, 2025-01-16) of 8, and days.
  ["90 days", { from: d("2024-10-22T00:00:00Z"), to: d("2025-01-20T00:00:00Z") }, true],
  ["up to a period's start", { from: d("2024-12-31T00:00:00Z"), to: d("2025-01-08T00:00:00Z") }, true],
];

type Answer = Map<string, Array<{ key: string | null; count: number }>>;

describe.each(storesUnderTest())("eventCounts from the daily rollup ($kind)", ({ kind, available }) => {
  let store: TestStore;
  let accounts: string[];
  const events = dataset();

  beforeAll(async () => {
    if (!available) return;
    store = await openTestStore(kind);
    const summary = await store.ingestEvents(events);
    expect(summary.rejected).toBe(0);
    const rows: Array<{ account_id: string }> = await store.dataSource.query("SELECT account_id FROM accounts");
    accounts = rows.map((row) => row.account_id).sort();
    expect(accounts.length).toBeGreaterThanOrEqual(5);
  });
  afterAll(async () => store?.close());

  /** The rollup's answer and the scan's (the same spec without its rollup plan). */
  async function both(scope: TenantScope, anchor: EventAnchor, filter: EventFilterValues, by: EventGroupField) {
    const db = new Store(store.dataSource, scope);
    const spec = db.eventCounts(anchor, filter, by);
    const parents = anchor === "account" ? [...accounts, "000000000000****"] : [null];
    const scan: CountsSpec = { ...spec, rollup: null };
    return {
      spec,
      rollup: await db.topValues(spec, parents, 500),
      scan: await db.topValues(scan, parents, 500),
      top3: [await db.topValues(spec, parents, 3), await db.topValues(scan, parents, 3)] as [Answer, Answer],
    };
  }

  it.skipIf(!available)("the rollup is the same as a GROUP BY of the events", async () => {
    expect(await rollupRows(store.dataSource)).toEqual(await rollupFromEvents(store.dataSource));
  });

  it.skipIf(!available)("answers every window like the scan, per field, at the root and per account", async () => {
    let served = 0;
    let fromPeriods = 0;
    for (const [label, filter, rollup] of WINDOWS) {
      for (const anchor of ["none", "account"] as const) {
        for (const by of FIELDS) {
          const answer = await both(TenantScope.all(), anchor, filter, by);
          const what = `${label}, ${anchor}, ${by}`;
          expect(answer.spec.rollup !== null, what).toBe(rollup);
          expect(answer.rollup, what).toEqual(answer.scan);
          expect(answer.top3[0], what).toEqual(answer.top3[1]);
          if (rollup) served++;
          if (answer.spec.rollup?.periods) fromPeriods++;
        }
      }
    }
    expect(served).toBeGreaterThan(100);
    expect(fromPeriods).toBeGreaterThan(50);
  });

  it.skipIf(!available)("counts what the events hold: nulls, events without an account, day edges", async () => {
    const db = new Store(store.dataSource, TenantScope.all());
    // A partial day on each side of 2025-01-03.
    const window = { from: d("2025-01-02T22:30:00Z"), to: d("2025-01-04T13:00:00Z") };
    const inWindow = events.filter((event) => {
      const time = Date.parse(String(event.eventTime));
      return time >= window.from.getTime() && time < window.to.getTime();
    });
    const tally = (keyOf: (event: Record<string, any>) => unknown) => {
      const counts = new Map<unknown, number>();
      for (const event of inWindow) counts.set(keyOf(event) ?? null, (counts.get(keyOf(event) ?? null) ?? 0) + 1);
      return counts;
    };
    const owners = tally((event) => event.userIdentity?.accountId ?? event.recipientAccountId);
    const names = tally((event) => event.eventName);
    expect(owners.get(null)).toBe(3);
    expect(names.get("AutoRenew")).toBe(2);
    expect(names.get(null)).toBeGreaterThan(0);

    const spec = db.eventCounts("none", window, "ACCOUNT_ID");
    expect(spec.rollup?.partial).toHaveLength(2);
    const byOwner = (await db.topValues(spec, [null], 500)).get("")!;
    expect(new Map(byOwner.map((c) => [c.key, c.count]))).toEqual(owners);
    const byName = (await db.topValues(db.eventCounts("none", window, "EVENT_NAME"), [null], 500)).get("")!;
    expect(new Map(byName.map((c) => [c.key, c.count]))).toEqual(names);
  });

  it.skipIf(!available)("applies account filters, with the window, like the scan", async () => {
    const [a, b] = accounts;
    for (const accountIds of [[a], [a, b], [b, "", "000000000000****"], [""], []]) {
      for (const [label, window] of WINDOWS) {
        for (const anchor of ["none", "account"] as const) {
          for (const by of ["EVENT_NAME", "ACCOUNT_ID"] as const) {
            const answer = await both(TenantScope.all(), anchor, { ...window, accountIds }, by);
            const what = `${JSON.stringify(accountIds)}, ${label}, ${anchor}, ${by}`;
            expect(answer.rollup, what).toEqual(answer.scan);
            expect(answer.top3[0], what).toEqual(answer.top3[1]);
          }
        }
      }
    }
  });

  it.skipIf(!available)("stays within a restricted tenant scope", async () => {
    const [a, b, c] = accounts;
    const scopes = [TenantScope.accounts([a, b]), TenantScope.accounts([]), TenantScope.accounts([c, ""])];
    for (const scope of scopes) {
      for (const [label, window] of WINDOWS) {
        for (const anchor of ["none", "account"] as const) {
          for (const filter of [window, { ...window, accountIds: [b, c] }]) {
            const answer = await both(scope, anchor, filter, "ACCOUNT_ID");
            const what = `${JSON.stringify([...(scope.accountIds ?? [])])}, ${label}, ${anchor}`;
            expect(answer.rollup, what).toEqual(answer.scan);
            const seen = [...answer.rollup.values()].flat().map((count) => count.key);
            expect(
              seen.every((key) => key !== null && scope.allows(key)),
              what,
            ).toBe(true);
          }
        }
      }
    }
  });

  it.skipIf(!available)("falls back to the scan for any other filter field", async () => {
    const db = new Store(store.dataSource, TenantScope.all());
    const window = { from: d("2025-01-02T00:00:00Z"), to: d("2025-01-04T00:00:00Z") };
    const others: EventFilterValues[] = [
      { ...window, failed: false },
      { ...window, eventNames: ["Midday"] },
      { ...window, userNames: ["edge"] },
      { ...window, resourceTypes: ["ACS::ECS::Instance"] },
    ];
    for (const filter of others) expect(db.eventCounts("none", filter, "EVENT_NAME").rollup).toBeNull();
    // Empty lists do not filter, so they do not stop the rollup either.
    expect(db.eventCounts("account", { ...window, eventNames: [], failed: null }, "REGION").rollup).not.toBeNull();
    // Anchors other than the root and an account are scans.
    expect(db.eventCounts("identity", window, "EVENT_NAME").rollup).toBeNull();
  });

  it.skipIf(!available)("over HTTP, many accounts' counts over whole days in one statement", async () => {
    const query = `{ accounts(first: 10) { nodes { accountId eventCounts(by: EVENT_NAME, first: 5,
      filter: {from: "2025-01-02T00:00:00Z", to: "2025-01-04T00:00:00Z"}) { key count } } } }`;
    const before = store.statements();
    const data = dataOf(await store.graphql(query));
    expect(store.statements() - before).toBe(2);
    const db = new Store(store.dataSource, TenantScope.all());
    const spec = db.eventCounts(
      "account",
      { from: d("2025-01-02T00:00:00Z"), to: d("2025-01-04T00:00:00Z") },
      "EVENT_NAME",
    );
    const scan = await db.topValues({ ...spec, rollup: null }, accounts, 5);
    for (const account of data.accounts.nodes) expect(account.eventCounts).toEqual(scan.get(account.accountId));
  });
});

describe.each(storesUnderTest())("the writer keeps the rollup exact ($kind)", ({ kind, available }) => {
  let store: TestStore;
  const events = dataset();
  beforeAll(async () => {
    if (available) store = await openTestStore(kind);
  });
  afterAll(async () => store?.close());

  const ingestInBatches = (list: unknown[], batchSize: number) =>
    ingest(store.dataSource, [arraySource(list)], { batchSize });

  it.skipIf(!available)("through duplicates in a batch, re-deliveries and overlapping re-runs", async () => {
    const half = Math.floor(events.length / 2);
    // The first half, each event twice in its batch, the second copy different: the first is stored.
    const doubled = events.slice(0, half).flatMap((event) => [event, { ...event, eventName: "Changed" }]);
    const first = await ingestInBatches(doubled, 300);
    expect(first.inserted).toBe(half);
    expect(await rollupRows(store.dataSource)).toEqual(await rollupFromEvents(store.dataSource));
    // Overlapping: the middle third to the end, in another batching.
    const overlap = await ingestInBatches(events.slice(Math.floor(events.length / 3)), 170);
    expect(overlap.inserted).toBe(events.length - half);
    // Everything again, reversed.
    const again = await ingestInBatches([...events].reverse(), 1000);
    expect(again.inserted).toBe(0);
    const rows = await rollupRows(store.dataSource);
    expect(rows).toEqual(await rollupFromEvents(store.dataSource));
    // Every event once a day, and once in a period of each span.
    const total = [...rows]
      .filter(([key]) => key.includes("\u0000EVENT_TYPE\u0000"))
      .reduce((sum, [, n]) => sum + n, 0);
    expect(total).toBe(events.length * (1 + PERIOD_SPANS.length));
    const renamed: Array<{ n: number | string }> = await store.dataSource.query(
      "SELECT COUNT(*) AS n FROM event_daily_counts WHERE value = 'Changed'",
    );
    expect(Number(renamed[0].n)).toBe(0);
  });

  it.skipIf(!available || kind !== "mysql")("through two writers at once on the same batches", async () => {
    const more = (seed: number) =>
      [...generateEvents({ events: 2000, accounts: 5, seed, days: 4, start: d(START) })].map((e) => ({
        ...e,
        eventId: `${seed}-${String(e.eventId)}`,
      }));
    // In step: the same batches at the same time, so that both insert each event at once.
    const same = more(12);
    const [a, b] = await Promise.all([ingestInBatches(same, 100), ingestInBatches(same, 100)]);
    expect(a.inserted + b.inserted).toBe(same.length);
    expect(await rollupRows(store.dataSource)).toEqual(await rollupFromEvents(store.dataSource));
    // Meeting in the middle.
    const crossing = more(13);
    const [c, e] = await Promise.all([ingestInBatches(crossing, 100), ingestInBatches([...crossing].reverse(), 130)]);
    expect(c.inserted + e.inserted).toBe(crossing.length);
    expect(c.inserted).toBeGreaterThan(0);
    expect(e.inserted).toBeGreaterThan(0);
    expect(await rollupRows(store.dataSource)).toEqual(await rollupFromEvents(store.dataSource));
  });

  it.skipIf(!available || kind !== "mysql")(
    "counts not an event another writer commits while the batch waits for it",
    async () => {
      const [raced, mine] = ["RaceOther", "RaceMine"].map((eventName) =>
        normalizeEvent(buildEvent({ eventTime: "2025-01-03T09:00:00Z", eventName })),
      );
      // Another writer holds `raced` uncommitted, and commits it only after the batch has
      // taken its snapshot and is waiting on that row.
      const other = store.dataSource.createQueryRunner();
      await other.startTransaction();
      await other.query("INSERT INTO events (event_id, event_time, event_name, failed) VALUES (?, ?, ?, 0)", [
        raced.eventId,
        raced.eventTime,
        raced.eventName,
      ]);
      const started = Date.now();
      const commit = new Promise((resolve) => setTimeout(resolve, 700)).then(async () => {
        await other.commitTransaction();
        await other.release();
      });
      const result = await new EventWriter(store.dataSource).write([raced, mine]);
      await commit;
      expect(Date.now() - started).toBeGreaterThanOrEqual(600);
      expect(result).toEqual({ inserted: 1, duplicates: 1 });
      const rows: Array<{ value: string; n: number }> = await store.dataSource.query(
        "SELECT value, n FROM event_daily_counts WHERE field = 'EVENT_NAME' AND value IN ('RaceOther', 'RaceMine')",
      );
      expect(rows.map((row) => [row.value, Number(row.n)])).toEqual([["RaceMine", 1]]);
      await store.dataSource.query("DELETE FROM events WHERE event_id = ?", [raced.eventId]);
    },
  );

  it.skipIf(!available)("their migrations backfill them from the stored events, and go down and up again", async () => {
    const maintained = await rollupRows(store.dataSource);
    expect(maintained.size).toBeGreaterThan(100);
    // Migrations that came after the rollups' (MySQL's ExactText) go down first, and up again with them.
    const later: string[] = [];
    for (;;) {
      const [last] = await store.dataSource.query("SELECT name FROM migrations ORDER BY id DESC LIMIT 1");
      if (/^EventPeriodCounts/.test(last.name)) break;
      later.unshift(last.name);
      await store.dataSource.undoLastMigration({ transaction: "each" });
    }
    // The period rollup alone, from the daily one.
    await store.dataSource.undoLastMigration({ transaction: "each" });
    expect(await tableExists(store.dataSource, "event_period_counts")).toBe(false);
    let applied = await store.dataSource.runMigrations({ transaction: "each" });
    expect(applied.map((migration) => migration.name)).toEqual([expect.stringMatching(/^EventPeriodCounts/), ...later]);
    for (const _name of later) await store.dataSource.undoLastMigration({ transaction: "each" });
    expect(await rollupRows(store.dataSource)).toEqual(maintained);
    // Both, from the events.
    await store.dataSource.undoLastMigration({ transaction: "each" });
    await store.dataSource.undoLastMigration({ transaction: "each" });
    expect(await tableExists(store.dataSource, "event_daily_counts")).toBe(false);
    expect(await tableExists(store.dataSource, "event_period_counts")).toBe(false);
    applied = await store.dataSource.runMigrations({ transaction: "each" });
    expect(applied.map((migration) => migration.name)).toEqual([
      expect.stringMatching(/^EventDailyCounts/),
      expect.stringMatching(/^EventPeriodCounts/),
      ...later,
    ]);
    expect(await rollupRows(store.dataSource)).toEqual(maintained);
    // And the writer adds to the backfilled rows.
    await store.ingestEvents([buildEvent({ eventTime: "2025-01-02T09:00:00Z", eventName: "AfterBackfill" })]);
    expect(await rollupRows(store.dataSource)).toEqual(await rollupFromEvents(store.dataSource));
  });
});

/**
 * Both rollups as one map: event_daily_counts as `account \0 field \0 day \0 value` → n, and
 * event_period_counts as `account \0 field \0 span:start \0 value` → n.
 */
async function rollupRows(dataSource: DataSource): Promise<Map<string, number>> {
  const text = (day: unknown) => (day instanceof Date ? utcDay(day) : String(day));
  const out = new Map<string, number>();
  for (const row of await dataSource.query("SELECT * FROM event_daily_counts")) {
    out.set([row.account_id, row.field, text(row.day), row.value].join("\u0000"), Number(row.n));
  }
  for (const row of await dataSource.query("SELECT * FROM event_period_counts")) {
    const period = `${Number(row.span)}:${text(row.start_day)}`;
    out.set([row.account_id, row.field, period, row.value].join("\u0000"), Number(row.n));
  }
  return new Map([...out].sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** What the rollups must hold, counted in JavaScript from the events table. */
async function rollupFromEvents(dataSource: DataSource): Promise<Map<string, number>> {
  const dialect = dialectOf(dataSource);
  const columns = {
    EVENT_NAME: "event_name",
    EVENT_TYPE: "event_type",
    EVENT_RW: "event_rw",
    SERVICE_NAME: "service_name",
    EVENT_SOURCE: "event_source",
    REGION: "acs_region",
    ACCOUNT_ID: "account_id",
    SOURCE_IP_ADDRESS: "source_ip_address",
    ERROR_CODE: "error_code",
  } satisfies Record<EventGroupField, string>;
  const rows: Array<Record<string, unknown>> = await dataSource.query("SELECT * FROM events");
  const out = new Map<string, number>();
  const add = (key: string) => out.set(key, (out.get(key) ?? 0) + 1);
  for (const row of rows) {
    const day = utcDay(dialect.readTime(row.event_time));
    // A period of `span` days starts on a day number divisible by the span.
    const periods = PERIOD_SPANS.map(
      (span) => `${span}:${utcDay(Math.floor(dayNumber(day) / span) * span * 86_400_000)}`,
    );
    for (const [field, column] of Object.entries(columns)) {
      for (const when of [day, ...periods]) add([row.account_id ?? "", field, when, row[column] ?? ""].join("\u0000"));
    }
  }
  return new Map([...out].sort(([a], [b]) => (a < b ? -1 : 1)));
}

async function tableExists(dataSource: DataSource, table: string): Promise<boolean> {
  const runner = dataSource.createQueryRunner();
  try {
    return await runner.hasTable(table);
  } finally {
    await runner.release();
  }
}
