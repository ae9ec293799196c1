/**
 * `trailgraph ingest` killed with SIGKILL part way, then run again: the store ends with
 * exactly the rows of one clean run (issue 3, "Interrupted safely"). The command runs in a
 * child with a bounded heap (src/ingest/bounded-heap.ts): killing the CLI kills the work too,
 * and a Ctrl-C on the terminal, which reaches both processes, stops it once.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DataSource } from "typeorm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeGenerated } from "../../src/generate/oss-writer";
import { CLI, requireBuiltCli, runCli, startCli, summaryOf, type CliRun } from "../support/cli";
import { openTestStore, type TestStore } from "../support/harness";
import { storesUnderTest } from "../support/stores";
import { countRows, GRAPH_TABLES, snapshotTables, tableDifferences } from "../support/tables";

const EVENTS = 20_000;

const sleep = (ms: number) => new Promise((resolvePromise) => setTimeout(resolvePromise, ms));

/**
 * Runs `ingest` and SIGKILLs it `delayMs` after the store holds at least `atLeast` events
 * (polled). The count moves when a batch commits, so the delay puts the kill somewhere in
 * the middle of the next batch, not right after a commit. Returns what is stored once it is dead.
 */
async function ingestKilledAt(
  input: string,
  store: TestStore,
  cwd: string,
  atLeast: number,
  delayMs: number,
): Promise<{ events: number; files: number }> {
  const { child, exited } = startCli(["ingest", "--quiet", input], { databaseUrl: store.url, cwd });
  let finished = false;
  void exited.then(() => (finished = true));
  for (;;) {
    if (finished) {
      const exit = await exited;
      throw new Error(`ingest ended (code ${exit.code}) before it could be killed:\n${exit.stderr}`);
    }
    if ((await countRows(store.dataSource, "events")) >= atLeast) break;
    await sleep(20);
  }
  await sleep(delayMs);
  child.kill("SIGKILL");
  const exit = await exited;
  expect(exit.signal, `it was killed, not finished: ${exit.stderr}`).toBe("SIGKILL");
  return {
    events: await countRows(store.dataSource, "events"),
    files: await countRows(store.dataSource, "ingested_files"),
  };
}

async function recordsOfCompletedFiles(dataSource: DataSource): Promise<number> {
  const [row] = await dataSource.query("SELECT COALESCE(SUM(records), 0) AS n FROM ingested_files");
  return Number(row.n);
}

let dir: string;
let input: string;
let generated: { files: number; events: number };

beforeAll(async () => {
  requireBuiltCli();
  dir = await mkdtemp(join(tmpdir(), "trailgraph-crash-"));
  input = join(dir, "bucket");
  // A few thousand small OSS delivery files: the kind of input a crash is likely to cut.
  generated = await writeGenerated({ out: input, format: "oss", events: EVENTS, accounts: 6, seed: 20240917, days: 5 });
}, 120_000);
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe.each(storesUnderTest())("ingest killed with SIGKILL and run again ($kind)", ({ kind, available }) => {
  const stores: TestStore[] = [];
  afterAll(async () => {
    for (const store of stores) await store.close();
  });

  it.skipIf(!available)(
    "twice, at two points; the third run skips the finished files and ends with the rows of a clean run",
    async () => {
      expect(generated.events).toBe(EVENTS);
      const [reference, crashed] = [await openTestStore(kind), await openTestStore(kind)];
      stores.push(reference, crashed);

      // The clean run, in a store of its own, while the crashes happen.
      const clean = runCli(["ingest", "--json", input], { databaseUrl: reference.url, cwd: dir });

      const first = await ingestKilledAt(input, crashed, dir, Math.round(EVENTS * 0.2), 170);
      expect(first.events).toBeGreaterThan(0);
      expect(first.events).toBeLessThan(EVENTS);
      expect(first.files).toBeLessThan(generated.files);

      // Run again, and kill that one too, further on.
      const second = await ingestKilledAt(input, crashed, dir, Math.round(EVENTS * 0.6), 290);
      expect(second.events).toBeGreaterThan(first.events);
      expect(second.events).toBeLessThan(EVENTS);
      expect(second.files).toBeGreaterThanOrEqual(first.files);
      expect(second.files).toBeLessThan(generated.files);
      const recordsDone = await recordsOfCompletedFiles(crashed.dataSource);
      // Every file recorded as done has all its events in: they were committed together.
      expect(recordsDone).toBeLessThanOrEqual(second.events);

      // The third run goes to the end: it skips the finished files, reads the others whole
      // (events committed by a killed run from a file it had not finished come again as
      // duplicates), and adds exactly the events that were missing.
      const third = await runCli(["ingest", "--json", input], { databaseUrl: crashed.url, cwd: dir });
      expect(third.code, third.stderr).toBe(0);
      const summary = summaryOf(third);
      expect(summary).toMatchObject({
        skipped: second.files,
        files: generated.files - second.files,
        read: EVENTS - recordsDone,
        inserted: EVENTS - second.events,
        duplicates: second.events - recordsDone,
        rejected: 0,
        damaged: [],
      });

      const cleanExit = await clean;
      expect(cleanExit.code, cleanExit.stderr).toBe(0);
      expect(summaryOf(cleanExit)).toMatchObject({
        files: generated.files,
        skipped: 0,
        read: EVENTS,
        inserted: EVENTS,
        duplicates: 0,
      });

      const expected = await snapshotTables(reference.dataSource);
      for (const table of GRAPH_TABLES) expect(expected[table].length, table).toBeGreaterThan(0);
      expect(expected.events).toHaveLength(EVENTS);
      expect(expected.ingested_files).toHaveLength(generated.files);
      expect(tableDifferences(await snapshotTables(crashed.dataSource), expected)).toEqual({});
      expect(await countRows(crashed.dataSource, "ingest_rejects")).toBe(0);

      // And a fourth run has nothing left to do.
      const fourth = await runCli(["ingest", "--json", input], { databaseUrl: crashed.url, cwd: dir });
      expect(fourth.code, fourth.stderr).toBe(0);
      expect(summaryOf(fourth)).toMatchObject({ files: 0, skipped: generated.files, read: 0, inserted: 0 });
    },
    180_000,
  );

  it.skipIf(!available)(
    "SIGTERM part way: stops between files, says what is left, exits 143; the same command finishes",
    async () => {
      // One region's folder is enough here.
      const folder = join(input, "AliyunLogs", "Actiontrail", "cn-hangzhou");
      const names = (await readdir(folder, { recursive: true })).filter((name) => name.endsWith(".gz"));
      const events = names.reduce((sum, name) => sum + Number(/_1002_(\d+)_/.exec(name)![1]), 0);
      const store = await openTestStore(kind);
      stores.push(store);

      const { child, exited } = startCli(["ingest", "--json", folder], { databaseUrl: store.url, cwd: dir });
      while ((await countRows(store.dataSource, "events")) < events * 0.2) {
        if (child.exitCode !== null)
          throw new Error(`ingest ended before it could be stopped: ${(await exited).stderr}`);
        await sleep(20);
      }
      child.kill("SIGTERM");
      const stopped = await exited;
      expect(stopped.signal).toBeNull();
      // Not 0: a script must not take an interrupted run for a complete one.
      expect(stopped.code, stopped.stderr).toBe(143);
      const partial = summaryOf(stopped);
      expect(partial.files).toBeLessThan(names.length);
      expect(stopped.stderr).toContain(`interrupted by SIGTERM: ${names.length - partial.files} of ${names.length}`);
      // What it read, it wrote, and recorded: nothing is half done.
      expect(await countRows(store.dataSource, "events")).toBe(partial.inserted);
      expect(await countRows(store.dataSource, "ingested_files")).toBe(partial.files);

      const again = await runCli(["ingest", "--json", folder], { databaseUrl: store.url, cwd: dir });
      expect(again.code, again.stderr).toBe(0);
      expect(summaryOf(again)).toMatchObject({
        skipped: partial.files,
        files: names.length - partial.files,
        inserted: events - partial.inserted,
        duplicates: 0,
      });
      expect(await countRows(store.dataSource, "events")).toBe(events);
      expect(await countRows(store.dataSource, "ingested_files")).toBe(names.length);

      // Content, not only counts: every row as one clean run of the same folder stores it.
      const reference = await openTestStore(kind);
      stores.push(reference);
      const clean = await runCli(["ingest", "--json", folder], { databaseUrl: reference.url, cwd: dir });
      expect(clean.code, clean.stderr).toBe(0);
      expect(
        tableDifferences(await snapshotTables(store.dataSource), await snapshotTables(reference.dataSource)),
      ).toEqual({});
    },
    120_000,
  );
});

/** The children of a process (Linux). */
function childrenOf(pid: number): number[] {
  try {
    const text = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim();
    return text === "" ? [] : text.split(/\s+/).map(Number);
  } catch {
    return [];
  }
}

/** A process that has exited (gone, or a zombie nobody reaped yet). */
function gone(pid: number): boolean {
  try {
    return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return true;
  }
}

const onLinux = existsSync("/proc/self/task");

describe("the child that runs ingest with a bounded heap", () => {
  let store: TestStore | undefined;
  afterAll(async () => store?.close());

  it.skipIf(!onLinux)(
    "is gone within two seconds when the CLI is killed with SIGKILL, and has the heap flag",
    async () => {
      store = await openTestStore("sqlite");
      const watched = await mkdtemp(join(dir, "watched-"));
      // --follow never ends by itself: only the end of its parent can stop the child here.
      const running = startCli(["ingest", "--follow", "--interval", "0.2", watched], {
        databaseUrl: store.url,
        cwd: dir,
        env: { NODE_OPTIONS: undefined, TRAILGRAPH_INGEST_HEAP_MB: "96" },
      });
      let child: number | undefined;
      try {
        const parent = running.child.pid!;
        const deadline = Date.now() + 30_000;
        while (!running.stderr().includes("following") || child === undefined) {
          if (Date.now() > deadline) throw new Error(`the child did not start following:\n${running.stderr()}`);
          if (running.child.exitCode !== null) throw new Error(`ingest exited:\n${running.stderr()}`);
          child = childrenOf(parent)[0];
          await sleep(20);
        }
        const command = readFileSync(`/proc/${child}/cmdline`, "utf8").split("\0");
        expect(command).toContain("--max-old-space-size=96");
        expect(command).toContain(CLI);

        running.child.kill("SIGKILL");
        const killed = Date.now();
        while (!gone(child)) {
          expect(Date.now() - killed, "the child outlived its parent").toBeLessThan(2000);
          await sleep(10);
        }
        const exit: CliRun = await running.exited;
        expect(exit.signal).toBe("SIGKILL");
      } finally {
        if (child !== undefined && !gone(child)) process.kill(child, "SIGKILL");
      }
    },
    60_000,
  );

  it.skipIf(!onLinux)("runs in the CLI's own process when node was given a heap size", async () => {
    const local = await openTestStore("sqlite");
    try {
      for (const env of [
        { NODE_OPTIONS: "--max-old-space-size=200" },
        { NODE_OPTIONS: undefined, TRAILGRAPH_INGEST_HEAP_MB: "off" },
      ]) {
        const running = startCli(["ingest", "--json", "samples/events.json"], {
          databaseUrl: local.url,
          cwd: process.cwd(),
          env,
        });
        const pid = running.child.pid!;
        let forked = false;
        while (running.child.exitCode === null) {
          forked ||= childrenOf(pid).length > 0;
          await sleep(5);
        }
        const exit = await running.exited;
        expect(exit.code, exit.stderr).toBe(0);
        expect(forked, JSON.stringify(env)).toBe(false);
      }
    } finally {
      await local.close();
    }
  });

  it.skipIf(!onLinux)(
    "a Ctrl-C on the terminal (SIGINT to the process group) stops it once: 130, with the summary",
    async () => {
      const local = await openTestStore("sqlite");
      try {
        const folder = join(input, "AliyunLogs", "Actiontrail", "cn-hangzhou");
        const child = spawn(process.execPath, [CLI, "ingest", "--json", folder], {
          cwd: dir,
          env: { ...process.env, DATABASE_URL: local.url, NODE_OPTIONS: undefined },
          stdio: ["ignore", "pipe", "pipe"],
          // Its own process group, as a terminal's foreground job.
          detached: true,
        });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (chunk) => (stdout += chunk));
        child.stderr.on("data", (chunk) => (stderr += chunk));
        const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolvePromise) =>
          child.on("close", (code, signal) => resolvePromise({ code, signal })),
        );
        while ((await countRows(local.dataSource, "events")) < 500) {
          if (child.exitCode !== null) throw new Error(`ingest ended before it could be stopped: ${stderr}`);
          await sleep(20);
        }
        expect(childrenOf(child.pid!)).toHaveLength(1);
        process.kill(-child.pid!, "SIGINT");
        const exit = await closed;
        expect(exit, stderr).toEqual({ code: 130, signal: null });
        expect(stderr).toMatch(/interrupted by SIGINT/);
        expect(stderr.match(/interrupted by/g)).toHaveLength(1);
        const summary = JSON.parse(stdout);
        expect(await countRows(local.dataSource, "events")).toBe(summary.inserted);
        expect(await countRows(local.dataSource, "ingested_files")).toBe(summary.files);
      } finally {
        await local.close();
      }
    },
    60_000,
  );
});
