/**
 * `trailgraph ingest --follow`: watches a delivery folder, ingests files as a sync tool
 * drops them in, stops cleanly on SIGTERM with a summary, and after a restart re-reads
 * nothing it already took but picks up what arrived meanwhile (issue 3, "Continuous mode");
 * a file rewritten in place, even to the same size, is read again.
 */
import { createHash } from "node:crypto";
import { copyFile, mkdir, mkdtemp, readdir, readFile, rename, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeGenerated } from "../../src/generate/oss-writer";
import { requireBuiltCli, startCli, summaryOf, type RunningCli } from "../support/cli";
import { openTestStore, type TestStore } from "../support/harness";
import { storesUnderTest } from "../support/stores";
import { countRows, ingestedFileRows } from "../support/tables";

const sleep = (ms: number) => new Promise((resolvePromise) => setTimeout(resolvePromise, ms));

/** Polls until `check` holds; fails with `what` and the follower's log after `timeoutMs`. */
async function waitFor(what: string, check: () => Promise<boolean>, running: RunningCli, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (running.child.exitCode !== null || running.child.signalCode !== null) {
      throw new Error(`the follower exited while waiting for ${what}:\n${running.stderr()}`);
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${running.stderr()}`);
    await sleep(50);
  }
}

interface Delivered {
  /** Path relative to the delivery root. */
  relative: string;
  events: number;
}

/** Files of a folder, recursively, relative to it, sorted. */
async function filesUnder(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(root.length + 1))
    .sort();
}

/**
 * Puts files into the watched folder the way a sync tool (rsync, ossutil, a FUSE mount)
 * does: written under a hidden temporary name next to the target, then renamed into place.
 */
async function deliver(files: readonly Delivered[], from: string, to: string): Promise<void> {
  for (const file of files) {
    const target = join(to, file.relative);
    await mkdir(dirname(target), { recursive: true });
    const temporary = join(dirname(target), `.${basename(target)}.part`);
    await copyFile(join(from, file.relative), temporary);
    await rename(temporary, target);
  }
}

const eventsOf = (files: readonly Delivered[]) => files.reduce((sum, file) => sum + file.events, 0);

let dir: string;
let staging: string;
let groups: Delivered[][];

beforeAll(async () => {
  requireBuiltCli();
  dir = await mkdtemp(join(tmpdir(), "trailgraph-follow-"));
  staging = join(dir, "staging");
  await writeGenerated({ out: staging, format: "oss", events: 240, accounts: 3, seed: 8080, days: 0.25 });
  const files = (await filesUnder(staging)).map((relative) => {
    // OSS names carry the number of events: Actiontrail_<region>_<time>_1002_<count>_<size>_<md5>.gz
    const match = /_1002_(\d+)_\d+_[0-9a-f]{32}\.gz$/.exec(relative);
    if (!match) throw new Error(`not an OSS delivery name: ${relative}`);
    return { relative, events: Number(match[1]) };
  });
  expect(files.length).toBeGreaterThanOrEqual(6);
  const third = Math.ceil(files.length / 3);
  groups = [files.slice(0, third), files.slice(third, 2 * third), files.slice(2 * third)];
}, 60_000);
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe.each(storesUnderTest())("ingest --follow ($kind)", ({ kind, available }) => {
  let store: TestStore;
  let watched: string;
  beforeAll(async () => {
    if (!available) return;
    store = await openTestStore(kind);
    watched = join(dir, `bucket-${kind}`);
    await mkdir(watched);
  });
  afterAll(async () => store?.close());

  const storedEvents = () => countRows(store.dataSource, "events");
  const follow = () =>
    startCli(["ingest", "--follow", "--interval", "0.2", "--json", watched], { databaseUrl: store.url, cwd: dir });

  it.skipIf(!available)(
    "ingests files as they arrive, stops on SIGTERM with a summary, and resumes without re-reading",
    async () => {
      const [first, second, whileStopped] = groups;
      const running = follow();
      await waitFor("the follower to start", async () => running.stderr().includes("following"), running);
      expect(await storedEvents()).toBe(0);

      await deliver(first, staging, watched);
      await waitFor(`${eventsOf(first)} events`, async () => (await storedEvents()) === eventsOf(first), running);
      expect(await countRows(store.dataSource, "ingested_files")).toBe(first.length);

      await deliver(second, staging, watched);
      const taken = eventsOf(first) + eventsOf(second);
      await waitFor(`${taken} events`, async () => (await storedEvents()) === taken, running);

      running.child.kill("SIGTERM");
      const stopped = await running.exited;
      expect(stopped.code, stopped.stderr).toBe(0);
      expect(summaryOf(stopped)).toMatchObject({
        files: first.length + second.length,
        skipped: 0,
        read: taken,
        inserted: taken,
        duplicates: 0,
        rejected: 0,
        damaged: [],
      });
      const before = await ingestedFileRows(store.dataSource);
      expect(before.map((file) => file.path)).toEqual(
        [...first, ...second].map((file) => join(watched, file.relative)).sort(),
      );

      // A file arrives while nobody watches; the follower starts again.
      await deliver(whileStopped, staging, watched);
      const again = follow();
      const all = taken + eventsOf(whileStopped);
      await waitFor(`${all} events after the restart`, async () => (await storedEvents()) === all, again);
      // A few more scans: nothing else may be read.
      await sleep(600);
      again.child.kill("SIGTERM");
      const restarted = await again.exited;
      expect(restarted.code, restarted.stderr).toBe(0);
      expect(summaryOf(restarted)).toMatchObject({
        files: whileStopped.length,
        read: eventsOf(whileStopped),
        inserted: eventsOf(whileStopped),
        duplicates: 0,
        rejected: 0,
      });
      expect(await storedEvents()).toBe(all);

      // The files taken before were not ingested again (their rows, completion time
      // included, are untouched), and no temporary name was ever taken for a file.
      const after = await ingestedFileRows(store.dataSource);
      expect(after.filter((file) => before.some((old) => old.path === file.path))).toEqual(before);
      expect(after.map((file) => file.path)).toEqual(
        [...first, ...second, ...whileStopped].map((file) => join(watched, file.relative)).sort(),
      );
      expect(after.map((file) => file.records)).toEqual(
        after.map((file) => [...first, ...second, ...whileStopped].find((f) => file.path.endsWith(f.relative))!.events),
      );
    },
    90_000,
  );

  it.skipIf(!available)(
    "reads a damaged file once, not on every scan, and again once a complete copy replaces it",
    async () => {
      const folder = join(dir, `damaged-${kind}`);
      const file = groups[0][0];
      const target = join(folder, file.relative);
      await mkdir(dirname(target), { recursive: true });
      const complete = await readFile(join(staging, file.relative));
      await writeFile(join(dirname(target), ".partial"), complete.subarray(0, Math.floor(complete.length / 2)));
      await rename(join(dirname(target), ".partial"), target);

      const running = startCli(["ingest", "--follow", "--interval", "0.2", "--json", folder], {
        databaseUrl: store.url,
        cwd: dir,
      });
      await waitFor("the damaged file to be read", async () => running.stderr().includes("new file(s)"), running);
      await sleep(1000); // five more scans
      // The sync tool delivers the whole file again.
      await writeFile(join(dirname(target), ".complete"), complete);
      await rename(join(dirname(target), ".complete"), target);
      await waitFor(
        "the complete file to be ingested",
        async () => (await ingestedFileRows(store.dataSource)).some((row) => row.path === target),
        running,
      );
      await sleep(600);
      running.child.kill("SIGTERM");
      const exit = await running.exited;
      // 1: a file was damaged. It was read twice: damaged, then complete.
      expect(exit.code, exit.stderr).toBe(1);
      const summary = summaryOf(exit);
      expect(summary.damaged).toEqual([{ source: target, reason: expect.stringMatching(/gzip/) }]);
      expect(summary.files).toBe(2);
      expect(summary.rejected).toBe(1);
      const row = (await ingestedFileRows(store.dataSource)).find((r) => r.path === target)!;
      expect(row).toMatchObject({ size: complete.length, records: file.events });
    },
    60_000,
  );
  it.skipIf(!available)(
    "reads a file again when it is rewritten in place to the same size, and not when it is only touched",
    async () => {
      const folder = join(dir, `rewritten-${kind}`);
      await mkdir(folder);
      const samples = JSON.parse(await readFile("samples/events.json", "utf8")) as Array<Record<string, unknown>>;
      // Two versions of the same length: only a letter of each eventId differs.
      const version = (tag: "a" | "b", from: number) =>
        samples
          .slice(from, from + 5)
          .map((event, index) => ({ ...event, eventId: `rewritten-${kind}-${tag}-${from + index}` }));
      const lines = (events: unknown[]) => events.map((event) => `${JSON.stringify(event)}\n`).join("");
      const plain = join(folder, "pushed.jsonl");
      const [plainA, plainB] = [lines(version("a", 0)), lines(version("b", 0))];
      // An OSS-style name carries the md5 of the first version: the name says "already
      // ingested" for the second one too, so only its content can tell.
      const arrayA = JSON.stringify(version("a", 10));
      const arrayB = JSON.stringify(version("b", 10));
      const md5 = createHash("md5").update(arrayA).digest("hex");
      const named = join(folder, `Actiontrail_cn-hangzhou_20250101000000_1002_5_${arrayA.length}_${md5}.gz`);
      expect(Buffer.byteLength(plainB)).toBe(Buffer.byteLength(plainA));
      expect(arrayB.length).toBe(arrayA.length);
      await writeFile(plain, plainA);
      await writeFile(named, arrayA);

      const eventIds = async (tag: string) => {
        const rows: Array<{ event_id: string }> = await store.dataSource.query(
          `SELECT event_id FROM events WHERE event_id LIKE 'rewritten-${kind}-${tag}-%'`,
        );
        return rows.length;
      };
      const running = startCli(["ingest", "--follow", "--interval", "0.2", "--json", folder], {
        databaseUrl: store.url,
        cwd: dir,
      });
      await waitFor("the first versions", async () => (await eventIds("a")) === 10, running);
      const first = await ingestedFileRows(store.dataSource);

      // Rewritten in place: same path, same size, a later modification time.
      await writeFile(plain, plainB);
      await writeFile(named, arrayB);
      await waitFor("the second versions", async () => (await eventIds("b")) === 10, running);
      const second = await ingestedFileRows(store.dataSource);
      for (const path of [plain, named]) {
        const [before, after] = [first, second].map((rows) => rows.find((row) => row.path === path)!);
        expect(after.size).toBe(before.size);
        expect(after.md5).not.toBe(before.md5);
        expect(after.md5).toBe(
          createHash("md5")
            .update(path === plain ? plainB : arrayB)
            .digest("hex"),
        );
      }

      // Touched only: the content is hashed, found unchanged, and not ingested again.
      const later = new Date(Date.now() + 60_000);
      await utimes(plain, later, later);
      await utimes(named, later, later);
      await sleep(1000); // five scans
      running.child.kill("SIGTERM");
      const exit = await running.exited;
      expect(exit.code, exit.stderr).toBe(0);
      expect(summaryOf(exit)).toMatchObject({ files: 4, read: 20, inserted: 20, duplicates: 0, rejected: 0 });
      expect(exit.stderr).toMatch(/changed file\(s\)/);
      expect((await ingestedFileRows(store.dataSource)).filter((row) => row.path.startsWith(folder))).toEqual(
        second.filter((row) => row.path.startsWith(folder)),
      );
    },
    60_000,
  );
});
