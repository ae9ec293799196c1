import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, inject, it, vi } from "vitest";
import { createDataSource, storeConfig } from "../../src/db/datasource";
import { openStore } from "../../src/db/open";
import { ingest, type IngestSummary } from "../../src/ingest/ingest";
import { bufferSource } from "../../src/ingest/sources";
import { EventWriter } from "../../src/ingest/writer";
import { MYSQL_MIGRATIONS } from "../../src/migrations/mysql";
import { dataOf, openTestStore, type TestStore } from "../support/harness";
import { createTestDatabase } from "../support/mysql-server";
import { storesUnderTest } from "../support/stores";

const samples = JSON.parse(readFileSync("samples/events.json", "utf8")) as Record<string, unknown>[];
const base = samples[1];

/** A sample event under another ID, with fields replaced. */
function event(eventId: string, fields: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...base, eventId, ...fields };
}

/** Nesting of `levels` arrays around an empty object. */
function nested(levels: number): unknown {
  let value: unknown = {};
  for (let level = 0; level < levels; level++) value = [value];
  return value;
}

async function rawOf(store: TestStore, eventId: string): Promise<unknown> {
  const data = dataOf(await store.graphql(`query($id: ID!) { event(eventId: $id) { eventId raw } }`, { id: eventId }));
  return data.event?.raw ?? null;
}

async function eventIdsWhere(store: TestStore, filter: Record<string, unknown>): Promise<string[]> {
  const data = dataOf(
    await store.graphql(`query($f: EventFilter) { events(first: 100, filter: $f) { nodes { eventId } } }`, {
      f: filter,
    }),
  );
  return data.events.nodes.map((node: { eventId: string }) => node.eventId).sort();
}

/** IDs that collations merge: case, accents (composed and decomposed), trailing spaces. */
const LOOK_ALIKES = ["look-a", "LOOK-A", "look-a ", "look-á", "look-a\u0301", "ｌook-a"];

describe.each(storesUnderTest())("nothing merged, nothing altered ($kind)", ({ kind, available }) => {
  let store: TestStore;
  let summary: IngestSummary;
  const identity = (userName: string, accountId: string) => ({
    type: "ram-user",
    principalId: `p-${userName}`,
    accountId,
    userName,
  });
  const events = [
    ...LOOK_ALIKES.map((eventId, index) => event(eventId, { eventName: `Look${index}` })),
    event("user-lower", { userIdentity: identity("alice", "Acct-1") }),
    event("user-upper", { userIdentity: identity("ALICE", "ACCT-1") }),
    event("user-accent", { userIdentity: identity("alíce", "acct-1 ") }),
    event("res-lower", { referencedResources: { "ACS::ECS::Instance": ["i-abc"] } }),
    event("res-upper", { referencedResources: { "ACS::ECS::Instance": ["i-ABC"] } }),
    // Refused by MariaDB's JSON_VALID: 32 levels and more, lone surrogate escapes.
    event("deep-40", { requestParameters: { Deep: nested(40) } }),
    event("deep-500", { requestParameters: { Deep: nested(500) } }),
    event("surrogate", { requestParameters: { Note: "half \ud800 a pair", Other: "\udfff" } }),
    event("nul", { requestParameters: { Note: "a\u0000b" }, eventName: "Nul\u0000Name" }),
    event("long-texts", {
      errorCode: "Boom",
      errorMessage: "é".repeat(70_000),
      userAgent: "Mozilla/5.0 ".repeat(500),
    }),
  ];

  beforeAll(async () => {
    if (!available) return;
    store = await openTestStore(kind);
    summary = await store.ingestEvents(events);
  });
  afterAll(async () => store?.close());

  it.skipIf(!available)("stores every look-alike event ID as its own event", async () => {
    expect(summary.rejected).toBe(0);
    expect(summary.inserted).toBe(events.length);
    for (const [index, eventId] of LOOK_ALIKES.entries()) {
      const data = dataOf(
        await store.graphql(`query($id: ID!) { event(eventId: $id) { eventId eventName } }`, { id: eventId }),
      );
      expect(data.event).toEqual({ eventId, eventName: `Look${index}` });
    }
    expect(await eventIdsWhere(store, { eventIds: ["LOOK-A"] })).toEqual(["LOOK-A"]);
  });

  it.skipIf(!available)("filters compare exactly: another principal's events are not returned", async () => {
    expect(await eventIdsWhere(store, { userNames: ["ALICE"] })).toEqual(["user-upper"]);
    expect(await eventIdsWhere(store, { userNames: ["alice"] })).toEqual(["user-lower"]);
    expect(await eventIdsWhere(store, { userNames: ["alice "] })).toEqual([]);
    expect(await eventIdsWhere(store, { accountIds: ["acct-1 "] })).toEqual(["user-accent"]);
    expect(await eventIdsWhere(store, { accountIds: ["ACCT-1"] })).toEqual(["user-upper"]);
    expect(await eventIdsWhere(store, { principalIds: ["p-ALICE"] })).toEqual(["user-upper"]);
    expect(await eventIdsWhere(store, { resourceIds: ["i-ABC"] })).toEqual(["res-upper"]);
    expect(await eventIdsWhere(store, { eventNames: ["look0"] })).toEqual([]);
  });

  it.skipIf(!available)("keeps identities, accounts and resources that differ in case apart", async () => {
    const accounts = dataOf(await store.graphql(`{ accounts(first: 100) { nodes { accountId } } }`));
    const ids = accounts.accounts.nodes.map((node: { accountId: string }) => node.accountId);
    expect(ids).toEqual(expect.arrayContaining(["Acct-1", "ACCT-1", "acct-1 "]));
    for (const resourceId of ["i-abc", "i-ABC"]) {
      const data = dataOf(
        await store.graphql(
          `query($id: ID!) { resource(type: "ACS::ECS::Instance", resourceId: $id) { resourceId events { nodes { eventId } } } }`,
          { id: resourceId },
        ),
      );
      expect(data.resource.resourceId).toBe(resourceId);
      expect(data.resource.events.nodes).toEqual([{ eventId: resourceId === "i-abc" ? "res-lower" : "res-upper" }]);
    }
  });

  it.skipIf(!available)("gives back raw exactly, whatever its nesting or characters", async () => {
    for (const source of events) {
      expect(await rawOf(store, source.eventId as string)).toEqual(source);
    }
  });

  it.skipIf(!available)("answers typed fields whole: no cut error message or user agent", async () => {
    const source = events.at(-1)!;
    const data = dataOf(await store.graphql(`{ event(eventId: "long-texts") { errorMessage userAgent } }`));
    expect(data.event.errorMessage).toBe(source.errorMessage);
    expect(data.event.userAgent).toBe(source.userAgent);
    const nul = dataOf(await store.graphql(`{ event(eventId: "nul") { eventName } }`));
    expect(nul.event.eventName).toBe("Nul\u0000Name");
  });
});

describe.each(storesUnderTest())("one record never costs another ($kind)", ({ kind, available }) => {
  let store: TestStore;
  beforeAll(async () => {
    if (available) store = await openTestStore(kind);
  });
  afterAll(async () => store?.close());

  it.skipIf(!available)("a record 5,000 levels deep in a file of 4,000 costs only itself", async () => {
    const records = Array.from({ length: 4_001 }, (_, index) =>
      index === 2_000 ? event("too-deep", { requestParameters: nested(5_000) }) : event(`many-${index}`),
    );
    // Written by hand: JSON.stringify itself cannot go 5,000 levels deep.
    const text = `[${records
      .map((record) =>
        record.eventId === "too-deep"
          ? JSON.stringify({ ...record, requestParameters: 0 }).replace(
              '"requestParameters":0',
              `"requestParameters":${"[".repeat(5_000)}${"]".repeat(5_000)}`,
            )
          : JSON.stringify(record),
      )
      .join(",")}]`;
    const summary = await ingest(store.dataSource, [bufferSource("deep-in-the-middle.json", text)]);
    expect(summary.inserted).toBe(4_000);
    expect(summary.rejected).toBe(1);
    expect(summary.rejects[0].position).toBe("element 2000");
    expect(summary.rejects[0].reason).toMatch(/nested more than \d+ levels deep/);
    const count = dataOf(
      await store.graphql(`{ events(filter: { eventIds: ["many-0", "many-4000"] }) { totalCount } }`),
    );
    expect(count.events.totalCount).toBe(2);
  });

  it.skipIf(!available)("a batch is written once it holds batchBytes of events, whatever its count", async () => {
    const write = vi.spyOn(EventWriter.prototype, "write");
    try {
      const records = Array.from({ length: 10 }, (_, index) =>
        event(`bytes-${index}`, { requestParameters: { Pad: "p".repeat(3_000) } }),
      );
      const summary = await ingest(store.dataSource, [bufferSource("bytes.json", JSON.stringify(records))], {
        batchBytes: 8_000,
      });
      expect(summary.inserted).toBe(10);
      // About 3 KB each: a batch holds three, never the ten the count would allow.
      const batches = write.mock.calls.map(([events]) => events.length).filter((count) => count > 0);
      expect(batches).toEqual([3, 3, 3, 1]);
    } finally {
      write.mockRestore();
    }
  });

  it.skipIf(!available)("three events of 7 MB each are stored, each whole", async () => {
    const big = [0, 1, 2].map((index) =>
      event(`big-${index}`, { requestParameters: { Blob: `${index}`.repeat(7e6) } }),
    );
    const summary = await store.ingestEvents(big);
    expect(summary.rejected).toBe(0);
    expect(summary.inserted).toBe(3);
    for (const source of big) expect(await rawOf(store, source.eventId as string)).toEqual(source);
  });
});

describe.skipIf(inject("mysqlUrl") == null)("what the MySQL server accepts (mysql)", () => {
  let store: TestStore;
  beforeAll(async () => {
    store = await openTestStore("mysql");
  });
  afterAll(async () => store?.close());

  it("rejects an event larger than max_allowed_packet with that reason, and stores its neighbours", async () => {
    const [{ packet }] = await store.dataSource.query("SELECT @@max_allowed_packet AS packet");
    // Every quote and backslash doubles when inlined in a statement: a record under the
    // reader's limit whose statement would not fit the server's.
    const quotes = '"'.repeat(Math.ceil(Number(packet) / 3));
    const records = [
      event("packet-before"),
      event("packet-huge", { requestParameters: { Q: quotes } }),
      event("packet-after"),
    ];
    const summary = await store.ingestEvents(records);
    expect(summary.inserted).toBe(2);
    expect(summary.rejected).toBe(1);
    expect(summary.rejects[0]).toMatchObject({ position: "element 1" });
    expect(summary.rejects[0].reason).toMatch(/max_allowed_packet/);
    expect(await rawOf(store, "packet-after")).toEqual(records[2]);
  });

  it("migrates an existing database to exact comparisons and whole texts, and says so", async () => {
    const database = await createTestDatabase(inject("mysqlUrl")!);
    try {
      const config = storeConfig(database.url);
      const old = createDataSource({
        ...config,
        // Every migration before ExactText.
        options: {
          ...config.options,
          migrations: MYSQL_MIGRATIONS.slice(
            0,
            MYSQL_MIGRATIONS.findIndex((migration) => migration.name.startsWith("ExactText")),
          ),
        },
      });
      await old.initialize();
      await old.runMigrations({ transaction: "each" });
      const before = await ingest(old, [bufferSource("old.json", JSON.stringify([event("old-1")]))]);
      expect(before.inserted).toBe(1);
      // The old collation takes another ID for it: the second event would have been a duplicate.
      const alike = "SELECT COUNT(*) AS n FROM events WHERE event_id = 'OLD-1'";
      expect(Number((await old.query(alike))[0].n)).toBe(1);
      await old.destroy();

      const log: string[] = [];
      const opened = await openStore(config, { migrate: true, log: (line) => log.push(line) });
      try {
        expect(log).toEqual([
          expect.stringMatching(/^applied migration ExactText\d+: every text column compares byte for byte/),
          expect.stringMatching(/^applied migration OwnTimes\d+: an account's firstSeenAt is its own earliest event/),
        ]);
        expect(Number((await opened.dataSource.query(alike))[0].n)).toBe(0);
        const after = await ingest(opened.dataSource, [bufferSource("new.json", JSON.stringify([event("OLD-1")]))]);
        expect(after.inserted).toBe(1);
        const columns: Array<{ name: string; collation: string; type: string }> = await opened.dataSource.query(
          `SELECT CONCAT(TABLE_NAME, '.', COLUMN_NAME) AS name, COLLATION_NAME AS collation, DATA_TYPE AS type
             FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND COLLATION_NAME IS NOT NULL
               AND TABLE_NAME <> 'migrations'`,
        );
        expect(columns.length).toBeGreaterThan(20);
        for (const column of columns) expect(column.collation, column.name).toMatch(/^utf8mb4_(nopad_bin|0900_bin)$/);
        const types = Object.fromEntries(columns.map((column) => [column.name, column.type]));
        expect(types).toMatchObject({
          "event_payloads.raw": "longtext",
          "order_items.article_config": "longtext",
          "events.error_message": "longtext",
          "events.user_agent": "longtext",
        });
        const checks: unknown[] = await opened.dataSource.query(
          `SELECT CONSTRAINT_NAME FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE()`,
        );
        expect(checks).toEqual([]);
        expect(await opened.dataSource.query("SELECT event_id FROM events ORDER BY event_id")).toEqual([
          { event_id: "OLD-1" },
          { event_id: "old-1" },
        ]);
      } finally {
        await opened.dataSource.destroy();
      }
    } finally {
      await database.drop();
    }
  });
});
