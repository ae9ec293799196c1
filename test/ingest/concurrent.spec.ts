/**
 * Two `trailgraph ingest` processes at once on overlapping inputs leave exactly the rows of
 * one clean run, and both succeed: lock conflicts (MySQL deadlocks, SQLite's busy file) are
 * retried, never reported (issue 3, "two ingests of overlapping data at once").
 */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DataSource } from "typeorm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeGenerated } from "../../src/generate/oss-writer";
import type { IngestSummary } from "../../src/ingest/ingest";
import { requireBuiltCli, runCli, summaryOf, type CliRun } from "../support/cli";
import { openTestStore, type TestStore } from "../support/harness";
import { storesUnderTest } from "../support/stores";
import { countRows, GRAPH_TABLES, snapshotTables, tableDifferences, type TablesSnapshot } from "../support/tables";

function succeeded(exit: CliRun): IngestSummary {
  expect(exit.code, exit.stderr).toBe(0);
  return summaryOf(exit) as IngestSummary;
}

let dir: string;
/** The delivery folder (A ∪ B) and its regions' folders (A is the largest region). */
let all: string;
let regionA: string;
let regionsB: string[];
let filesA: number;
/** Every delivery file, in the order a folder walk gives them. */
let files: string[];
let generated: { files: number; events: number };

/** `trailgraph ingest --json <args>` on `store`, in the test folder. */
const ingestJson = (store: TestStore, ...args: string[]) =>
  runCli(["ingest", "--json", ...args], { databaseUrl: store.url, cwd: dir });

beforeAll(async () => {
  requireBuiltCli();
  dir = await mkdtemp(join(tmpdir(), "trailgraph-concurrent-"));
  all = join(dir, "bucket");
  generated = await writeGenerated({ out: all, format: "oss", events: 3000, accounts: 4, seed: 4242, days: 2 });
  const root = join(all, "AliyunLogs", "Actiontrail");
  const regions = (await readdir(root)).sort().map((name) => join(root, name));
  expect(regions.length).toBeGreaterThan(1);
  regionA = join(root, "cn-hangzhou");
  regionsB = regions.filter((region) => region !== regionA);
  expect(regionsB).toHaveLength(regions.length - 1);
  filesA = (await readdir(regionA, { recursive: true })).filter((name) => name.endsWith(".gz")).length;
  expect(filesA).toBeGreaterThan(0);
  files = (await readdir(all, { recursive: true }))
    .filter((name) => name.endsWith(".gz"))
    .map((name) => join(all, name))
    .sort();
  expect(files).toHaveLength(generated.files);
}, 120_000);
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/**
 * Resources named by events of more than one account (a system policy such as
 * AliyunBSSFullAccess), with those accounts. Which of them owns the resource depends on which
 * event is written first (see "known bug" below), so the comparisons only require the owner
 * of these to be one of their accounts.
 */
async function sharedResources(dataSource: DataSource): Promise<Map<string, Set<string>>> {
  const rows: Array<{ type: string; resource_id: string; account_id: string }> = await dataSource.query(
    "SELECT DISTINCT r.type, r.resource_id, e.account_id FROM resources r " +
      "JOIN event_resources er ON er.resource_pk = r.pk JOIN events e ON e.pk = er.event_pk " +
      "WHERE e.account_id IS NOT NULL",
  );
  const accounts = new Map<string, Set<string>>();
  for (const row of rows) {
    const key = JSON.stringify([row.type, row.resource_id]);
    accounts.set(key, (accounts.get(key) ?? new Set()).add(row.account_id));
  }
  return new Map([...accounts].filter(([, set]) => set.size > 1));
}

describe.each(storesUnderTest())("two ingests at once on overlapping inputs ($kind)", ({ kind, available }) => {
  let reference: TablesSnapshot;
  let shared: Map<string, Set<string>>;
  /** What differs from the clean run. */
  const differences = async (store: TestStore) => tableDifferences(await snapshotTables(store.dataSource), reference);
  const stores: TestStore[] = [];
  const fresh = async () => {
    const store = await openTestStore(kind);
    stores.push(store);
    return store;
  };

  beforeAll(async () => {
    if (!available) return;
    const store = await fresh();
    const summary = succeeded(await ingestJson(store, all));
    expect(summary).toMatchObject({ files: generated.files, inserted: generated.events, rejected: 0 });
    reference = await snapshotTables(store.dataSource);
    for (const table of GRAPH_TABLES) expect(reference[table].length, table).toBeGreaterThan(0);
    expect(reference.ingested_files).toHaveLength(generated.files);
    shared = await sharedResources(store.dataSource);
    // Most resources belong to one account and are compared whole.
    expect(shared.size).toBeLessThan(reference.resources.length / 4);
  }, 120_000);
  afterAll(async () => {
    for (const store of stores) await store.close();
  });

  it.skipIf(!available)("folder A and folders A + B at once: the rows of one clean run of A + B", async () => {
    const store = await fresh();
    // Both start with A, so they write the same events at the same time; small batches
    // make for many transactions that conflict.
    const [onlyA, both] = await Promise.all([
      ingestJson(store, "--batch-size", "200", regionA),
      ingestJson(store, "--batch-size", "200", regionA, ...regionsB),
    ]);
    const a = succeeded(onlyA);
    const ab = succeeded(both);
    // A file the other one had finished before a run started is skipped, the others read.
    expect(a.files + a.skipped).toBe(filesA);
    expect(ab.files + ab.skipped).toBe(generated.files);
    expect(a.read).toBeGreaterThan(0);
    expect(a.read).toBeLessThan(generated.events);
    expect(a.rejected + ab.rejected).toBe(0);
    // Each event was new to exactly one of them.
    expect(a.inserted + ab.inserted).toBe(generated.events);
    expect(a.duplicates + ab.duplicates).toBe(a.read + ab.read - generated.events);
    expect(await differences(store)).toEqual({});
    expect(await countRows(store.dataSource, "ingest_rejects")).toBe(0);
  });

  it.skipIf(!available)("the same folder twice at once with --force: the rows of one clean run", async () => {
    const store = await fresh();
    const runs = await Promise.all([
      ingestJson(store, "--force", "--batch-size", "300", all),
      ingestJson(store, "--force", "--batch-size", "300", all),
    ]);
    const [first, second] = runs.map(succeeded);
    expect(first.read).toBe(generated.events);
    expect(second.read).toBe(generated.events);
    expect(first.inserted + second.inserted).toBe(generated.events);
    expect(first.duplicates + second.duplicates).toBe(generated.events);
    expect(first.rejected + second.rejected).toBe(0);
    expect(await differences(store)).toEqual({});
    expect(await countRows(store.dataSource, "ingest_rejects")).toBe(0);
  });

  it.skipIf(!available)(
    "the same files at once in opposite orders: they meet in the middle, both finish, one clean run's rows",
    async () => {
      const store = await fresh();
      const reversed = [...files].reverse();
      const runs = await Promise.all([
        ingestJson(store, "--batch-size", "100", ...files),
        ingestJson(store, "--batch-size", "100", ...reversed),
      ]);
      const [forward, backward] = runs.map(succeeded);
      expect(forward.files + forward.skipped).toBe(generated.files);
      expect(backward.files + backward.skipped).toBe(generated.files);
      expect(forward.inserted + backward.inserted).toBe(generated.events);
      expect(forward.inserted).toBeGreaterThan(0);
      expect(backward.inserted).toBeGreaterThan(0);
      expect(forward.rejected + backward.rejected).toBe(0);
      expect(await differences(store)).toEqual({});
      expect(await countRows(store.dataSource, "ingest_rejects")).toBe(0);
    },
  );
});

/**
 * A resource named by events of several accounts (a system policy, a shared resource) is
 * owned by the account of the earliest of them, whatever order the deliveries are written in.
 */
describe.each(storesUnderTest())("the owner of a shared resource ($kind)", ({ kind, available }) => {
  const named = (eventId: string, eventTime: string, accountId: string) => ({
    eventId,
    eventTime,
    eventName: "AttachPolicyToUser",
    eventType: "ApiCall",
    serviceName: "Ram",
    userIdentity: { type: "ram-user", accountId, principalId: `${accountId}-p`, userName: "ops" },
    referencedResources: { "ACS::RAM::Policy": ["AliyunBSSFullAccess"] },
  });
  const earlier = named("shared-owner-1", "2025-03-01T00:00:00Z", "1111111111111111");
  const later = named("shared-owner-2", "2025-03-02T00:00:00Z", "2222222222222222");

  async function ownerAfter(...deliveries: Array<Record<string, unknown>[]>): Promise<string | null> {
    const store = await openTestStore(kind);
    try {
      for (const events of deliveries) await store.ingestEvents(events);
      const [row] = await store.dataSource.query(
        "SELECT account_id FROM resources WHERE type = 'ACS::RAM::Policy' AND resource_id = 'AliyunBSSFullAccess'",
      );
      return row.account_id;
    } finally {
      await store.close();
    }
  }

  it.skipIf(!available)("is the earliest event's account, whichever delivery is written first", async () => {
    expect(await ownerAfter([later], [earlier])).toBe("1111111111111111");
    expect(await ownerAfter([earlier], [later])).toBe("1111111111111111");
    expect(await ownerAfter([later, earlier])).toBe("1111111111111111");
  });
});
