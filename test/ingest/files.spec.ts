/**
 * `trailgraph ingest` (the built CLI, as a child process) on delivery folders and files:
 * re-runs skip finished files, --force and changed files, damaged gzip files, malformed
 * records and the rejects file and table, exit codes, --json / --quiet and the progress
 * line. Every test has a store of its own, so they run concurrently. Run `npm run build`
 * first (`npm test` does).
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { constants, gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateEvents } from "../../src/generate/generator";
import { writeGenerated } from "../../src/generate/oss-writer";
import { expandPaths } from "../../src/ingest/sources";
import { runCli, summaryOf, type CliOptions, type CliRun } from "../support/cli";
import { gzip, jsonArray, jsonLines, SAMPLES, samples, storedEventIds } from "../support/delivery";
import { dataOf, openTestStore, type TestStore } from "../support/harness";
import { storesUnderTest } from "../support/stores";
import { countRows, snapshotGraphTables } from "../support/tables";

const OSS_EVENTS = 400;
let dir: string;
/** A generated OSS delivery folder (single-account layout): never changed, copied when a test changes it. */
let oss: string;
let ossFiles: string[];
let ossIds: string[];
let runs = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "trailgraph-files-"));
  oss = join(dir, "oss");
  const written = await writeGenerated({ events: OSS_EVENTS, accounts: 3, seed: 21, days: 1, out: oss, format: "oss" });
  ossFiles = (await expandPaths([oss])).map((file) => file.path);
  if (ossFiles.length !== written.files || written.files < 50)
    throw new Error(`unexpected OSS folder: ${written.files}`);
  ossIds = [...generateEvents({ events: OSS_EVENTS, accounts: 3, seed: 21, days: 1 })].map((e) => String(e.eventId));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A folder of this test's own. */
async function folder(name: string): Promise<string> {
  const path = join(dir, `${name}-${++runs}`);
  await mkdir(path, { recursive: true });
  return path;
}

const SUMMARY_KEYS = [
  "files",
  "skipped",
  "read",
  "inserted",
  "duplicates",
  "rejected",
  "rejects",
  "damaged",
  "bytes",
  "elapsedMs",
  "eventsPerSecond",
];

/** What the store holds, bookkeeping included. */
async function tables(store: TestStore) {
  return {
    data: await snapshotGraphTables(store.dataSource),
    files: await countRows(store.dataSource, "ingested_files"),
    rejects: await countRows(store.dataSource, "ingest_rejects"),
  };
}

/** A minimal API call event. */
function apiCall(eventId: string, second: number): Record<string, unknown> {
  return {
    eventId,
    eventVersion: "1",
    eventTime: `2024-03-01T10:00:${String(second).padStart(2, "0")}Z`,
    eventName: "DescribeInstances",
    eventType: "ApiCall",
    eventRW: "Read",
    serviceName: "Ecs",
    acsRegion: "cn-hangzhou",
    userIdentity: { type: "ram-user", accountId: "1500000000000001", principalId: "2000001", userName: "alice" },
  };
}

describe.each(storesUnderTest())("trailgraph ingest on files ($kind)", ({ kind, available }) => {
  /** Runs the CLI against `store` (cwd: the test folder `cwd`). */
  const ingest = (store: TestStore, cwd: string, args: string[], feed?: CliOptions["feed"]) =>
    runCli(["ingest", ...args], { databaseUrl: store.url, cwd, feed });

  const withStore = async (test: (store: TestStore) => Promise<void>) => {
    const store = await openTestStore(kind);
    try {
      await test(store);
    } finally {
      await store.close();
    }
  };

  describe.concurrent("re-runs", () => {
    it.skipIf(!available)("re-running the same folder skips every file, quickly, and changes nothing", ({ expect }) =>
      withStore(async (store) => {
        const cwd = await folder("rerun");
        const first = await ingest(store, cwd, ["--json", oss]);
        expect(first.code, first.stderr).toBe(0);
        const firstSummary = summaryOf(first);
        expect(firstSummary).toMatchObject({
          files: ossFiles.length,
          skipped: 0,
          read: OSS_EVENTS,
          inserted: OSS_EVENTS,
          rejected: 0,
        });
        expect(await storedEventIds(store.dataSource)).toEqual([...ossIds].sort());
        const before = await tables(store);
        expect(before.files).toBe(ossFiles.length);

        const again = await ingest(store, cwd, ["--json", oss]);
        expect(again.code, again.stderr).toBe(0);
        const summary = summaryOf(again);
        expect(summary).toMatchObject({
          files: 0,
          skipped: ossFiles.length,
          read: 0,
          inserted: 0,
          duplicates: 0,
          rejected: 0,
          damaged: [],
        });
        // Skipping reads no file: the OSS names carry the md5 the first run recorded.
        expect(summary.elapsedMs).toBeLessThan(Math.max(firstSummary.elapsedMs / 2, 50));
        expect(await tables(store)).toEqual(before);
      }),
    );

    it.skipIf(!available)("--force reads every file again and changes nothing in the tables", ({ expect }) =>
      withStore(async (store) => {
        const cwd = await folder("force");
        expect((await ingest(store, cwd, ["--quiet", oss])).code).toBe(0);
        const before = await tables(store);
        const forced = await ingest(store, cwd, ["--json", "--force", oss]);
        expect(forced.code, forced.stderr).toBe(0);
        expect(summaryOf(forced)).toMatchObject({
          files: ossFiles.length,
          skipped: 0,
          read: OSS_EVENTS,
          inserted: 0,
          duplicates: OSS_EVENTS,
          rejected: 0,
        });
        expect(await tables(store)).toEqual(before);
      }),
    );

    it.skipIf(!available)(
      "a changed file (same path, other content) is read again; the others are skipped",
      ({ expect }) =>
        withStore(async (store) => {
          const cwd = await folder("changed");
          const root = join(cwd, "oss");
          await cp(oss, root, { recursive: true });
          const extra = join(root, "extra", "more.jsonl");
          await mkdir(join(root, "extra"));
          await writeFile(extra, jsonLines([1, 2, 3].map((n) => apiCall(`extra-00000${n}`, n))));
          const first = await ingest(store, cwd, ["--json", root]);
          expect(first.code, first.stderr).toBe(0);
          expect(summaryOf(first)).toMatchObject({ files: ossFiles.length + 1, read: OSS_EVENTS + 3 });

          // The same size, another event ID: only the content hash tells.
          const text = await readFile(extra, "utf8");
          await writeFile(extra, text.replace("extra-000003", "extra-000004"));
          // An OSS delivery file rewritten in place with one more event.
          const oldName = ossFiles[0].slice(oss.length);
          const ossFile = join(root, oldName);
          const events = JSON.parse(gunzipSync(await readFile(ossFile)).toString("utf8")) as unknown[];
          await writeFile(ossFile, gzip(jsonArray([...events, apiCall("appended-1", 9)])));

          const again = await ingest(store, cwd, ["--json", root]);
          expect(again.code, again.stderr).toBe(0);
          expect(summaryOf(again)).toMatchObject({
            files: 2,
            skipped: ossFiles.length - 1,
            read: 3 + events.length + 1,
            inserted: 2,
            duplicates: 2 + events.length,
            rejected: 0,
          });
          const ids = await storedEventIds(store.dataSource);
          expect(ids).toEqual(
            [...ossIds, "extra-000001", "extra-000002", "extra-000003", "extra-000004", "appended-1"].sort(),
          );
          // And a third run skips everything again.
          expect(summaryOf(await ingest(store, cwd, ["--json", root]))).toMatchObject({
            files: 0,
            skipped: ossFiles.length + 1,
          });
        }),
    );
  });

  describe.concurrent("damaged files", () => {
    it.skipIf(!available)(
      "a corrupt and a truncated gzip among good files: exit 1, named on stderr with how far they were read; " +
        "what was read before the damage is kept, the other files are complete",
      ({ expect }) =>
        withStore(async (store) => {
          const cwd = await folder("damaged");
          const input = join(cwd, "in");
          await mkdir(input);
          const events = [...generateEvents({ events: 350, accounts: 2, seed: 31, days: 1 })];
          const good = events.slice(0, 100);
          const cut = events.slice(100, 300);
          const lines = events.slice(300);
          const goodFile = join(input, "a-good.json.gz");
          const corruptFile = join(input, "b-corrupt.json.gz");
          const truncatedFile = join(input, "c-truncated.json.gz");
          const linesFile = join(input, "d-good.jsonl");
          await writeFile(goodFile, gzip(jsonArray(good)));
          // A valid gzip header, then garbage: the first byte declares a block of the reserved type 3.
          const header = gzip("[]").subarray(0, 10);
          const garbage = Buffer.from(createHash("sha512").update("garbage").digest()).fill(0xff, 0, 1);
          await writeFile(corruptFile, Buffer.concat([header, garbage, garbage]));
          const whole = gzip(jsonArray(cut));
          const half = whole.subarray(0, Math.floor(whole.length / 2));
          await writeFile(truncatedFile, half);
          await writeFile(linesFile, jsonLines(lines));
          // The elements of `cut` whose bytes (and the comma ending them) are in what half of the file holds.
          const readable = gunzipSync(half, { finishFlush: constants.Z_SYNC_FLUSH }).length;
          let complete = 0;
          for (let end = 1; complete < cut.length; complete++) {
            end += Buffer.byteLength(JSON.stringify(cut[complete]));
            if (end >= readable) break;
            end += 1;
          }
          expect(complete).toBeGreaterThan(10);
          expect(complete).toBeLessThan(cut.length - 10);

          const run = await ingest(store, cwd, ["--rejects", join(cwd, "rejects.jsonl"), input]);
          expect(run.code, run.stderr).toBe(1);
          const damaged = run.stderr.split("\n").filter((line) => line.startsWith("damaged "));
          expect(damaged).toHaveLength(2);
          expect(damaged[0]).toMatch(
            new RegExp(
              `^damaged ${regexEscape(corruptFile)}: damaged or truncated gzip data .*after 0 decompressed bytes and 0 records`,
            ),
          );
          expect(damaged[1]).toMatch(
            new RegExp(
              `^damaged ${regexEscape(truncatedFile)}: damaged or truncated gzip data .*after \\d+ decompressed bytes and ${complete} records`,
            ),
          );
          const expected = [...good, ...cut.slice(0, complete), ...lines].map((e) => String(e.eventId)).sort();
          expect(await storedEventIds(store.dataSource)).toEqual(expected);
          expect(run.stdout).toMatch(
            new RegExp(`4 file\\(s\\), ${expected.length} record\\(s\\) read, ${expected.length} new`),
          );

          // The damaged files are not recorded as ingested: a re-run reads them again (and only them).
          const again = await ingest(store, cwd, ["--json", "--rejects", join(cwd, "rejects.jsonl"), input]);
          expect(again.code).toBe(1);
          expect(summaryOf(again)).toMatchObject({
            files: 2,
            skipped: 2,
            read: complete,
            inserted: 0,
            damaged: [{ source: corruptFile }, { source: truncatedFile }],
          });
          expect(await storedEventIds(store.dataSource)).toEqual(expected);
        }),
    );
  });

  describe.concurrent("malformed records", () => {
    const goodEvents = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => apiCall(`good-${n}`, n));
    const masked = JSON.stringify({ ...apiCall("masked-1", 30), recipientAccountId: "151266687691****" }).replace(
      '"151266687691****"',
      "151266687691****",
    );
    const { eventId: _dropped, ...noId } = apiCall("no-id", 31);
    const badTime = JSON.stringify({ ...apiCall("bad-time", 32), eventTime: "yesterday at noon" });
    const longId = JSON.stringify(apiCall("L".repeat(200), 33));
    const brokenLine = '{"eventId": "broken-1", "eventTime": "2024-03-01T10:';
    /** Array elements and JSON lines, with what each bad one must be rejected for. */
    const arrayItems: Array<[text: string, reason?: RegExp]> = [
      [JSON.stringify(goodEvents[0])],
      [masked, /^not valid JSON/],
      [JSON.stringify(goodEvents[1])],
      [JSON.stringify(noId), /no eventId/],
      [JSON.stringify(goodEvents[2])],
      [badTime, /eventTime "yesterday at noon"/],
      [JSON.stringify(goodEvents[3])],
      [longId, /eventId is 200 characters/],
      [JSON.stringify(goodEvents[4])],
    ];
    const lineItems: Array<[text: string, reason?: RegExp]> = [
      [JSON.stringify(goodEvents[5])],
      [brokenLine, /^not valid JSON/],
      [JSON.stringify(goodEvents[6])],
      [JSON.stringify({ ...noId, eventName: "NoIdAgain" }), /no eventId/],
      [JSON.stringify(goodEvents[7])],
      [badTime.replace("bad-time", "bad-time-2"), /eventTime "yesterday at noon"/],
      [JSON.stringify(goodEvents[8])],
      [longId.replace(/L{200}/, "M".repeat(200)), /eventId is 200 characters/],
      [JSON.stringify(goodEvents[9])],
    ];

    /** The rejects the two files must give: source, position, byte offset, reason and text. */
    function expectedRejects(arrayFile: string, linesFile: string) {
      const out: Array<Record<string, unknown>> = [];
      let offset = 1; // after "["
      arrayItems.forEach(([text, reason], index) => {
        if (reason) out.push({ source: arrayFile, position: `element ${index}`, byteOffset: offset, reason, text });
        offset += Buffer.byteLength(text) + 1;
      });
      offset = 0;
      lineItems.forEach(([text, reason], index) => {
        if (reason) out.push({ source: linesFile, position: `line ${index + 1}`, byteOffset: offset, reason, text });
        offset += Buffer.byteLength(text) + 1;
      });
      return out;
    }

    const order = (rejects: Array<Record<string, any>>) =>
      [...rejects].sort((a, b) =>
        `${a.source} ${a.position}`.localeCompare(`${b.source} ${b.position}`, "en", { numeric: true }),
      );

    const matching = (expected: Array<Record<string, unknown>>) =>
      expected.map((reject) => ({ ...reject, reason: expect.stringMatching(reject.reason as RegExp) }));

    it.skipIf(!available)(
      "the good records all arrive, exit 1, and the rejects file and table hold exactly the bad ones, once",
      ({ expect }) =>
        withStore(async (store) => {
          const cwd = await folder("malformed");
          const arrayFile = join(cwd, "mixed.json");
          const linesFile = join(cwd, "mixed.jsonl");
          const rejectsFile = join(cwd, "rejects.jsonl");
          await writeFile(arrayFile, `[${arrayItems.map(([text]) => text).join(",")}]`);
          await writeFile(linesFile, lineItems.map(([text]) => text).join("\n") + "\n");
          const expected = order(matching(expectedRejects(arrayFile, linesFile)));
          expect(expected).toHaveLength(8);

          const run = await ingest(store, cwd, ["--rejects", rejectsFile, arrayFile, linesFile]);
          expect(run.code, run.stderr).toBe(1);
          expect(run.stdout).toContain(`rejected records: ${rejectsFile}`);
          expect(await storedEventIds(store.dataSource)).toEqual(goodEvents.map((e) => String(e.eventId)).sort());

          const fromFile = async () =>
            (await readFile(rejectsFile, "utf8"))
              .trimEnd()
              .split("\n")
              .map((line) => JSON.parse(line));
          expect(order(await fromFile())).toEqual(expected);

          const fromTable = async () =>
            dataOf(
              await store.graphql(
                "{ ingestRejects(first: 100) { totalCount nodes { source position reason text byteOffset } } }",
              ),
            ).ingestRejects;
          const table = await fromTable();
          expect(table.totalCount).toBe(8);
          expect(order(table.nodes)).toEqual(expected);

          // Again, forced: the same rejects in the file, none added to the table, no event doubled.
          const before = await tables(store);
          const again = await ingest(store, cwd, ["--json", "--force", "--rejects", rejectsFile, arrayFile, linesFile]);
          expect(again.code).toBe(1);
          expect(summaryOf(again)).toMatchObject({ files: 2, read: 18, inserted: 0, duplicates: 10, rejected: 8 });
          expect(order(await fromFile())).toEqual(expected);
          expect((await fromTable()).totalCount).toBe(8);
          expect(await tables(store)).toEqual(before);
        }),
    );
  });

  describe.concurrent("exit codes and output", () => {
    it.skipIf(!available)("all good: exit 0, and --json prints the whole summary as one JSON object", ({ expect }) =>
      withStore(async (store) => {
        const cwd = await folder("json");
        const run = await ingest(store, cwd, ["--json", SAMPLES]);
        expect(run.code, run.stderr).toBe(0);
        expect(run.stdout.trimEnd().split("\n")).toHaveLength(1);
        const summary = summaryOf(run);
        expect(Object.keys(summary).sort()).toEqual([...SUMMARY_KEYS].sort());
        expect(summary).toMatchObject({
          files: 1,
          skipped: 0,
          read: samples.length,
          inserted: samples.length,
          duplicates: 0,
          rejected: 0,
          rejects: [],
          damaged: [],
          bytes: (await readFile(SAMPLES)).length,
        });
        expect(summary.elapsedMs).toEqual(expect.any(Number));
        expect(summary.eventsPerSecond).toBeGreaterThan(0);
        expect(existsSync(join(cwd, "trailgraph-rejects.jsonl"))).toBe(false);
      }),
    );

    it.skipIf(!available)("--quiet prints nothing on stdout, whether all is good or not", ({ expect }) =>
      withStore(async (store) => {
        const cwd = await folder("quiet");
        const good = await ingest(store, cwd, ["--quiet", SAMPLES]);
        expect(good.code, good.stderr).toBe(0);
        expect(good.stdout).toBe("");
        expect(good.stderr).toBe("");
        expect(await countRows(store.dataSource, "events")).toBe(samples.length);
        const mixed = join(cwd, "mixed.jsonl");
        await writeFile(mixed, `${JSON.stringify(apiCall("quiet-good", 1))}\n{"eventId": "cut\n`);
        const bad = await ingest(store, cwd, ["--quiet", mixed]);
        expect(bad.code).toBe(1);
        expect(bad.stdout).toBe("");
        expect(await countRows(store.dataSource, "events")).toBe(samples.length + 1);
      }),
    );

    /** Runs the CLI expecting a usage error, and checks that nothing was written anywhere. */
    const expectUsageError = async (store: TestStore, args: string[], message: RegExp) => {
      const cwd = await folder("usage");
      const rejects = join(cwd, "rejects.jsonl");
      const run = await ingest(store, cwd, ["--rejects", rejects, ...args]);
      expectExit(run, 2);
      if (!message.test(run.stderr)) throw new Error(`stderr does not match ${message}:\n${run.stderr}`);
      for (const table of ["events", "identities", "accounts", "ingested_files", "ingest_rejects"]) {
        if ((await countRows(store.dataSource, table)) !== 0) throw new Error(`${table} was written to`);
      }
      if (existsSync(rejects)) throw new Error("a rejects file was written");
      return run;
    };

    it.skipIf(!available)("exit 2 for a path that does not exist, and nothing is written", ({ expect }) =>
      withStore(async (store) => {
        const missing = join(dir, "no-such-folder", "events.json.gz");
        const run = await expectUsageError(store, [SAMPLES, missing], new RegExp(regexEscape(missing)));
        expect(run.stdout).toBe("");
      }),
    );

    it.skipIf(!available)("exit 2 for --batch-size 0, and nothing is written", ({ expect }) =>
      withStore(async (store) => {
        const run = await expectUsageError(store, ["--batch-size", "0", SAMPLES], /--batch-size '0'/);
        expect(run.stdout).toBe("");
      }),
    );

    it.skipIf(!available)("exit 2 when the store cannot be reached", async ({ expect }) => {
      const cwd = await folder("unreachable");
      const url =
        kind === "mysql"
          ? "mysql://root@127.0.0.1:1/trailgraph"
          : // A folder that cannot be made: its parent is a file.
            `sqlite:${join(cwd, "not-a-folder", "store.sqlite")}`;
      await writeFile(join(cwd, "not-a-folder"), "");
      const run = await runCli(["ingest", SAMPLES], { databaseUrl: url, cwd });
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(
        kind === "mysql" ? /Cannot connect to mysql:\/\/root@127\.0\.0\.1:1\/trailgraph/ : /trailgraph: /,
      );
      expect(run.stdout).toBe("");
    });

    it.skipIf(!available)(
      "a run lasting over 5 s prints a progress line every 5 s on a non-terminal stderr",
      ({ expect }) =>
        withStore(async (store) => {
          const cwd = await folder("progress");
          // Events from standard input: two at once, one 2.5 s after the first progress line (too
          // soon for another), one 5.2 s after it.
          const run = await ingest(store, cwd, ["--batch-size", "1", "-"], async (stdin, output) => {
            stdin.write(jsonLines([apiCall("slow-1", 1), apiCall("slow-2", 2)]));
            for (let waited = 0; !/ files, /.test(output().stderr); waited += 50) {
              if (waited > 30_000) throw new Error(`no progress line:\n${output().stderr}`);
              await sleep(50);
            }
            await sleep(2_500);
            stdin.write(jsonLines([apiCall("slow-3", 3)]));
            await sleep(2_700);
            stdin.write(jsonLines([apiCall("slow-4", 4)]));
          });
          expect(run.code, run.stderr).toBe(0);
          const progress = run.stderr.split("\n").filter((line) => / files, /.test(line));
          expect(progress).toHaveLength(2);
          for (const line of progress) {
            expect(line).toMatch(/^\[trailgraph\] [01]\/1 files, [\d.]+ MB\/[\d.]+ MB, \d+ records, \d+ records\/s/);
          }
          // Standard input was still open: its file was not done.
          expect(progress[0]).toMatch(/^\[trailgraph\] 0\/1 files/);
          expect(progress[1]).toContain(" 4 records,");
          expect(run.stderr).not.toContain("\r");
          expect(await countRows(store.dataSource, "events")).toBe(4);
        }),
    );
  });
});

function regexEscape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function expectExit(run: CliRun, code: number): void {
  if (run.code !== code) throw new Error(`exit ${run.code}, expected ${code}:\n${run.stdout}\n${run.stderr}`);
}
