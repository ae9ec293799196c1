/**
 * `trailgraph ingest` (the built CLI, as a child process) on every delivery format ActionTrail
 * hands users, made here from the bundled samples: each must store exactly what ingesting
 * samples/events.json stores. Then the OSS folder layouts and the account of events that
 * name none. Run `npm run build` first (`npm test` does).
 */
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventAccountId, generateEvents, resourceDirectoryId } from "../../src/generate/generator";
import { writeGenerated } from "../../src/generate/oss-writer";
import { runCli, summaryOf } from "../support/cli";
import {
  gzip,
  jsonArray,
  jsonLines,
  lookupPage,
  SAMPLES,
  samples,
  slsRecord,
  storedEventIds,
} from "../support/delivery";
import { dataOf, openTestStore } from "../support/harness";
import { storesUnderTest, type StoreKind } from "../support/stores";
import { snapshotGraphTables } from "../support/tables";

const sampleIds = samples.map((event) => String(event.eventId)).sort();

let dir: string;

// ---------------------------------------------------------------------------------------------
// The formats, each as the files it makes (relative names and contents).

interface MadeFile {
  name: string;
  content: string;
}

const FORMATS: Record<string, () => MadeFile[]> = {
  "a JSON array": () => [{ name: "events.json", content: jsonArray(samples) }],
  "single-event files (a folder of them)": () =>
    samples.map((event, index) => ({
      name: `event-${String(index).padStart(3, "0")}.json`,
      content: `${JSON.stringify(event, null, 2)}\n`,
    })),
  "JSON lines": () => [{ name: "events.jsonl", content: jsonLines(samples) }],
  "SLS records as JSON lines": () => [{ name: "sls-export.jsonl", content: jsonLines(samples.map(slsRecord)) }],
  "SLS records as a JSON array": () => [
    { name: "sls-export.json", content: JSON.stringify(samples.map(slsRecord), null, 2) },
  ],
  "LookupEvents responses, two pages concatenated in one file": () => [
    {
      name: "lookup-events.json",
      content:
        `${JSON.stringify(lookupPage(samples.slice(0, 50), "page-2-token"), null, 2)}\n` +
        `${JSON.stringify(lookupPage(samples.slice(50)), null, 2)}\n`,
    },
  ],
  "LookupEvents responses, one page per file": () => [
    { name: "page-1.json", content: JSON.stringify(lookupPage(samples.slice(0, 50), "page-2-token")) },
    { name: "page-2.json", content: JSON.stringify(lookupPage(samples.slice(50))) },
  ],
};

/** How the files are stored: as they are, gzip-compressed with a .gz name, gzip-compressed under the plain name. */
const ENCODINGS = {
  plain: (file: MadeFile) => ({ name: file.name, data: Buffer.from(file.content) }),
  "gzip (.gz name)": (file: MadeFile) => ({ name: `${file.name}.gz`, data: gzip(file.content) }),
  "gzip (plain name: detected by content)": (file: MadeFile) => ({ name: file.name, data: gzip(file.content) }),
} as const;

type Encoding = keyof typeof ENCODINGS;

/** Every format plain and gzip-compressed; the gzip files of every other format keep the plain name. */
function encodingsOf(formatIndex: number): Encoding[] {
  return ["plain", formatIndex % 2 === 0 ? "gzip (.gz name)" : "gzip (plain name: detected by content)"];
}

interface FormatCase {
  name: string;
  /** Arguments to `trailgraph ingest`, relative to `dir`. */
  args: string[];
  files: number;
  stdinFile?: string;
}

const cases: FormatCase[] = [];
Object.entries(FORMATS).forEach(([format, make], f) => {
  for (const encoding of encodingsOf(f)) {
    const folder = `formats/${f}-${encoding.split(" ")[0]}`;
    const files = make();
    cases.push({
      name: `${format}, ${encoding}`,
      // One file is named itself; several are found by walking their folder.
      args: files.length === 1 ? [`${folder}/${ENCODINGS[encoding](files[0]).name}`] : [folder],
      files: files.length,
    });
  }
});
cases.push({
  name: "standard input (-), a gzip JSON array piped in",
  args: ["-"],
  files: 1,
  stdinFile: "formats/0-gzip/events.json.gz",
});

async function writeFormats(): Promise<void> {
  for (const [f, make] of Object.values(FORMATS).entries()) {
    for (const encoding of encodingsOf(f)) {
      const folder = join(dir, "formats", `${f}-${encoding.split(" ")[0]}`);
      await mkdir(folder, { recursive: true });
      for (const file of make()) {
        const made = ENCODINGS[encoding](file);
        await writeFile(join(folder, made.name), made.data);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// OSS layouts: generated delivery folders plus files of events that name no account.

const GENERATED = { events: 300, accounts: 3, days: 1 };
const SINGLE_SEED = 11;
const MULTI_SEED = 12;
/** An account no generated event belongs to, for the second multi-account path. */
const OTHER_PATH_ACCOUNT = "170000000000001";
const OPERATOR_ACCOUNT = "1888000000000099";
const RECIPIENT = "1500000000000042";

/** An auto-renewal by the platform: a `system` identity with no account of its own. */
function orphan(eventId: string, eventTime: string, recipientAccountId?: string): Record<string, unknown> {
  return {
    eventId,
    eventVersion: "1",
    eventTime,
    eventName: "Renew",
    eventType: "AliyunServiceEvent",
    serviceName: "Ecs",
    acsRegion: "cn-hangzhou",
    userIdentity: { type: "system" },
    userAgent: "usercenter2.aliyun.com/renew/auto",
    ...(recipientAccountId ? { recipientAccountId } : {}),
    referencedResources: { "ACS::ECS::Instance": [`i-${eventId}`] },
    additionalEventData: { [`2100${eventId.length}00001`]: { resourceId: `i-${eventId}` } },
  };
}

/** Writes events as one OSS delivery file in `folder` (`.../<region>/YYYY/MM/DD`), named as OSS names it. */
async function writeOssFile(folder: string, events: Array<Record<string, unknown>>): Promise<void> {
  const json = Buffer.from(JSON.stringify(events));
  const data = gzip(json);
  const md5 = createHash("md5").update(data).digest("hex");
  const name = `Actiontrail_cn-hangzhou_20250101000000_1002_${events.length}_${json.length}_${md5}.gz`;
  await mkdir(folder, { recursive: true });
  await writeFile(join(folder, name), data);
}

const singleOrphans = [
  orphan("orphan-single-none", "2025-01-01T00:01:00Z"),
  orphan("orphan-single-recipient", "2025-01-01T00:01:01Z", RECIPIENT),
];
const multiOrphans = [
  orphan("orphan-multi-none", "2025-01-01T00:02:00Z"),
  orphan("orphan-multi-recipient", "2025-01-01T00:02:01Z", RECIPIENT),
];
const otherPathOrphans = [orphan("orphan-other-path", "2025-01-01T00:03:00Z")];

let singleFiles = 0;
let multiFiles = 0;
/** A generated account's folder in the multi-account layout, where multiOrphans are put. */
let multiPathAccount = "";

async function writeOssLayouts(): Promise<void> {
  const single = await writeGenerated({
    ...GENERATED,
    seed: SINGLE_SEED,
    out: join(dir, "oss-single"),
    format: "oss",
  });
  await writeOssFile(join(dir, "oss-single/AliyunLogs/Actiontrail/cn-hangzhou/2025/01/01"), singleOrphans);
  singleFiles = single.files + 1;

  const multi = await writeGenerated({
    ...GENERATED,
    seed: MULTI_SEED,
    out: join(dir, "oss-multi"),
    format: "oss",
    multiAccount: true,
  });
  const rd = join(dir, "oss-multi/AliyunLogs/Actiontrail", resourceDirectoryId(MULTI_SEED));
  const accounts = (await readdir(rd)).sort();
  expect(accounts.length).toBeGreaterThan(1);
  multiPathAccount = accounts[0];
  await writeOssFile(join(rd, multiPathAccount, "cn-hangzhou/2025/01/01"), multiOrphans);
  await writeOssFile(join(rd, OTHER_PATH_ACCOUNT, "cn-hangzhou/2025/01/01"), otherPathOrphans);
  multiFiles = multi.files + 2;
}

function generatedAccounts(seed: number): Map<string, string> {
  return new Map(
    [...generateEvents({ ...GENERATED, seed })].map((event) => [String(event.eventId), eventAccountId(event)]),
  );
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "trailgraph-formats-"));
  await writeFormats();
  await writeOssLayouts();
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------

let runs = 0;

/** A fresh store, and the CLI run on it. */
async function ingestInto(kind: StoreKind, args: string[], stdinFile?: string) {
  const store = await openTestStore(kind);
  try {
    const rejects = join(dir, `rejects-${++runs}.jsonl`);
    const run = await runCli(["ingest", "--json", "--rejects", rejects, ...args], {
      databaseUrl: store.url,
      cwd: dir,
      stdinFile: stdinFile && join(dir, stdinFile),
    });
    return { store, run };
  } catch (error) {
    await store.close();
    throw error;
  }
}

describe.each(storesUnderTest())("trailgraph ingest reads every delivery format ($kind)", ({ kind, available }) => {
  let reference: Record<string, string[]>;

  beforeAll(async () => {
    if (!available) return;
    const { store, run } = await ingestInto(kind, [SAMPLES]);
    try {
      expect(run.code, run.stderr).toBe(0);
      expect(summaryOf(run)).toMatchObject({ files: 1, read: samples.length, inserted: samples.length });
      expect(await storedEventIds(store.dataSource)).toEqual(sampleIds);
      reference = await snapshotGraphTables(store.dataSource);
    } finally {
      await store.close();
    }
  });

  it.skipIf(!available)("the reference (samples/events.json) fills every table", () => {
    for (const [table, rows] of Object.entries(reference)) expect(rows.length, table).toBeGreaterThan(0);
    expect(reference.events).toHaveLength(samples.length);
  });

  describe.concurrent("stores exactly the samples", () => {
    for (const c of cases) {
      it.skipIf(!available)(c.name, async ({ expect }) => {
        const { store, run } = await ingestInto(
          kind,
          c.args.map((arg) => (arg === "-" ? arg : join(dir, arg))),
          c.stdinFile,
        );
        try {
          expect(run.code, run.stderr).toBe(0);
          expect(summaryOf(run)).toMatchObject({
            files: c.files,
            skipped: 0,
            read: samples.length,
            inserted: samples.length,
            duplicates: 0,
            rejected: 0,
            damaged: [],
          });
          expect(await storedEventIds(store.dataSource)).toEqual(sampleIds);
          expect(await snapshotGraphTables(store.dataSource)).toEqual(reference);
        } finally {
          await store.close();
        }
      });
    }
  });

  describe.concurrent("OSS folder layouts", () => {
    const eventAccount = async (store: Awaited<ReturnType<typeof openTestStore>>, eventId: string) =>
      dataOf(
        await store.graphql(`query($id: ID!) { event(eventId: $id) { eventId accountId account { accountId } } }`, {
          id: eventId,
        }),
      ).event;
    const storedAccounts = async (store: Awaited<ReturnType<typeof openTestStore>>) => {
      const rows: Array<{ event_id: string; account_id: string | null }> = await store.dataSource.query(
        "SELECT event_id, account_id FROM events",
      );
      return new Map(rows.map((row) => [row.event_id, row.account_id]));
    };

    it.skipIf(!available)(
      "single-account, walked from its root: events that name no account are stored without one, and queryable",
      async ({ expect }) => {
        const { store, run } = await ingestInto(kind, [join(dir, "oss-single")]);
        try {
          expect(run.code, run.stderr).toBe(0);
          const total = GENERATED.events + singleOrphans.length;
          expect(summaryOf(run)).toMatchObject({ files: singleFiles, read: total, inserted: total, rejected: 0 });
          const generated = generatedAccounts(SINGLE_SEED);
          const stored = await storedAccounts(store);
          expect(stored.size).toBe(total);
          for (const [eventId, accountId] of generated) expect(stored.get(eventId), eventId).toBe(accountId);
          expect(await eventAccount(store, "orphan-single-none")).toEqual({
            eventId: "orphan-single-none",
            accountId: null,
            account: null,
          });
          expect((await eventAccount(store, "orphan-single-recipient")).accountId).toBe(RECIPIENT);
        } finally {
          await store.close();
        }
      },
    );

    it.skipIf(!available)(
      "single-account with --account: that account owns the events that name none",
      async ({ expect }) => {
        const { store, run } = await ingestInto(kind, ["--account", OPERATOR_ACCOUNT, join(dir, "oss-single")]);
        try {
          expect(run.code, run.stderr).toBe(0);
          const stored = await storedAccounts(store);
          for (const [eventId, accountId] of generatedAccounts(SINGLE_SEED)) {
            expect(stored.get(eventId), eventId).toBe(accountId);
          }
          expect(await eventAccount(store, "orphan-single-none")).toEqual({
            eventId: "orphan-single-none",
            accountId: OPERATOR_ACCOUNT,
            account: { accountId: OPERATOR_ACCOUNT },
          });
          // An event's own recipient account wins over --account.
          expect((await eventAccount(store, "orphan-single-recipient")).accountId).toBe(RECIPIENT);
        } finally {
          await store.close();
        }
      },
    );

    it.skipIf(!available)(
      "multi-account: events that name no account get the account of their path (over --account)",
      async ({ expect }) => {
        const { store, run } = await ingestInto(kind, ["--account", OPERATOR_ACCOUNT, join(dir, "oss-multi")]);
        try {
          expect(run.code, run.stderr).toBe(0);
          const total = GENERATED.events + multiOrphans.length + otherPathOrphans.length;
          expect(summaryOf(run)).toMatchObject({ files: multiFiles, read: total, inserted: total, rejected: 0 });
          const stored = await storedAccounts(store);
          expect(stored.size).toBe(total);
          for (const [eventId, accountId] of generatedAccounts(MULTI_SEED)) {
            expect(stored.get(eventId), eventId).toBe(accountId);
          }
          expect(await eventAccount(store, "orphan-multi-none")).toEqual({
            eventId: "orphan-multi-none",
            accountId: multiPathAccount,
            account: { accountId: multiPathAccount },
          });
          expect(await eventAccount(store, "orphan-other-path")).toEqual({
            eventId: "orphan-other-path",
            accountId: OTHER_PATH_ACCOUNT,
            account: { accountId: OTHER_PATH_ACCOUNT },
          });
          expect((await eventAccount(store, "orphan-multi-recipient")).accountId).toBe(RECIPIENT);
          expect([...stored.values()]).not.toContain(OPERATOR_ACCOUNT);
        } finally {
          await store.close();
        }
      },
    );
  });
});
