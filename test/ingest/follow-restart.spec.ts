/**
 * `trailgraph ingest --follow` across a database restart: while the server is down the
 * follower says so in one line per attempt (no stack traces), waits with a doubling pause and
 * tries again; once the server is back it ingests what arrived meanwhile, and in the end every
 * delivered event is stored exactly once and every file is recorded as ingested.
 */
import { copyFile, mkdir, mkdtemp, readdir, rename, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { createConnection } from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { storeConfig } from "../../src/db/datasource";
import { openStore } from "../../src/db/open";
import { writeGenerated } from "../../src/generate/oss-writer";
import { requireBuiltCli, startCli, summaryOf, type RunningCli } from "../support/cli";
import {
  createTestDatabase,
  findMysqlServerBinary,
  startThrowawayMysql,
  type ThrowawayMysql,
} from "../support/mysql-server";

const sleep = (ms: number) => new Promise((resolvePromise) => setTimeout(resolvePromise, ms));

async function waitFor(what: string, check: () => Promise<boolean>, running: RunningCli, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (running.child.exitCode !== null || running.child.signalCode !== null) {
      throw new Error(`the follower exited while waiting for ${what}:\n${running.stderr()}`);
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${running.stderr()}`);
    await sleep(100);
  }
}

const available = findMysqlServerBinary() !== undefined;

describe.skipIf(!available)("ingest --follow across a database restart", () => {
  let dir: string;
  let server: ThrowawayMysql;
  let databaseUrl: string;
  let files: Array<{ relative: string; events: number }>;

  beforeAll(async () => {
    requireBuiltCli();
    dir = await mkdtemp(join(tmpdir(), "trailgraph-follow-restart-"));
    await writeGenerated({
      out: join(dir, "staging"),
      format: "oss",
      events: 240,
      accounts: 2,
      seed: 4242,
      days: 0.25,
    });
    const entries = await readdir(join(dir, "staging"), { recursive: true, withFileTypes: true });
    files = entries
      .filter((entry) => entry.isFile())
      .map((entry) => join(entry.parentPath, entry.name).slice(join(dir, "staging").length + 1))
      .sort()
      .map((relative) => ({ relative, events: Number(/_1002_(\d+)_\d+_[0-9a-f]{32}\.gz$/.exec(relative)![1]) }));
    expect(files.length).toBeGreaterThanOrEqual(3);
    server = await startThrowawayMysql({ bufferPoolMb: 64 });
    databaseUrl = (await createTestDatabase(server.url)).url;
    const store = await openStore(storeConfig(databaseUrl), { migrate: true });
    await store.dataSource.destroy();
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Rows of a table, on a connection of its own (the follower's die with the server). */
  const count = async (table: string, expression = "COUNT(*)") => {
    const connection = await createConnection({ uri: databaseUrl, connectTimeout: 2_000 });
    try {
      const [rows] = await connection.query(`SELECT ${expression} AS n FROM ${table}`);
      return Number((rows as Array<{ n: unknown }>)[0].n);
    } finally {
      await connection.end();
    }
  };
  const deliver = async (group: typeof files) => {
    for (const file of group) {
      const target = join(dir, "bucket", file.relative);
      await mkdir(dirname(target), { recursive: true });
      const temporary = join(dirname(target), `.${basename(target)}.part`);
      await copyFile(join(dir, "staging", file.relative), temporary);
      await rename(temporary, target);
    }
  };
  const eventsOf = (group: typeof files) => group.reduce((sum, file) => sum + file.events, 0);

  it("keeps following through the restart, retries with backoff, stores every event once", async () => {
    const third = Math.ceil(files.length / 3);
    const [first, second, last] = [files.slice(0, third), files.slice(third, 2 * third), files.slice(2 * third)];
    await mkdir(join(dir, "bucket"));
    const running = startCli(["ingest", "--follow", "--interval", "0.2", "--json", join(dir, "bucket")], {
      databaseUrl,
      cwd: dir,
      env: { TRAILGRAPH_DB_CONNECT_TIMEOUT_MS: "1000", TRAILGRAPH_DB_WRITE_TIMEOUT_MS: "2000" },
    });
    await waitFor("the follower to start", async () => running.stderr().includes("following"), running);
    await deliver(first);
    await waitFor("the first files", async () => (await count("events")) === eventsOf(first), running);

    // Down for a few seconds; files arrive meanwhile.
    const restarted = server.restart({ downMs: 5_000 });
    await deliver(second);
    await waitFor(
      "the follower to meet the outage",
      async () => /database unavailable/.test(running.stderr()),
      running,
    );
    await restarted;
    const both = eventsOf(first) + eventsOf(second);
    await waitFor("the files delivered during the outage", async () => (await count("events")) === both, running);
    await deliver(last);
    const all = both + eventsOf(last);
    await waitFor("the last files", async () => (await count("events")) === all, running);
    await sleep(600);

    running.child.kill("SIGTERM");
    const stopped = await running.exited;
    expect(stopped.code, stopped.stderr).toBe(0);
    const outage = stopped.stderr.split("\n").filter((line) => /database unavailable/.test(line));
    // One line per attempt, each with the pause before the next: 1 s, then doubling.
    expect(outage.length).toBeGreaterThanOrEqual(2);
    expect(outage[0]).toMatch(/trying again in 1 s$/);
    expect(outage[1]).toMatch(/trying again in 2 s$/);
    expect(stopped.stderr).toContain("the database answers again; following resumed");
    expect(stopped.stderr).not.toMatch(/^\s+at /m);
    expect(stopped.stderr).not.toContain(String(server.port));
    expect(summaryOf(stopped)).toMatchObject({ inserted: all, rejected: 0, damaged: [] });
    // Exactly once: as many events as delivered, each ID once, every file recorded.
    expect(await count("events")).toBe(all);
    expect(await count("events", "COUNT(DISTINCT event_id)")).toBe(all);
    expect(await count("ingested_files")).toBe(files.length);
  }, 90_000);
});
