/**
 * Database faults under load: the app listens on a real loopback port in front of its own
 * throwaway MariaDB while a few clients query it and one pushes events; the database is
 * paused (SIGSTOP: connections open, nothing answered) and later restarted. Every request ends
 * within the configured bounds, failures are 503 DATABASE_UNAVAILABLE (with Retry-After) or
 * 504 STATEMENT_TIMEOUT and never name the database's address, /health/live stays 200 while
 * /health/ready reports the outage, the app recovers by itself, and every pushed event is
 * stored exactly once.
 */
import { PassThrough } from "node:stream";
import type { FastifyInstance } from "fastify";
import { createConnection } from "mysql2/promise";
import type { DataSource } from "typeorm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { storeConfig } from "../../src/db/datasource";
import type { DatabaseTimeouts } from "../../src/db/faults";
import { openStore } from "../../src/db/open";
import { readerOf } from "../../src/db/reader";
import { buildTrailGraphSchema } from "../../src/schema/build";
import { createApp } from "../../src/server/app";
import { buildEvent } from "../support/event-builder";
import { TEST_COST_LIMITS } from "../support/harness";
import {
  createTestDatabase,
  findMysqlServerBinary,
  startThrowawayMysql,
  type ThrowawayMysql,
} from "../support/mysql-server";

const TOKEN = "faults-test-ingest-token";
/** Short bounds, so that an outage shows within the test's time. */
const TIMEOUTS: DatabaseTimeouts = {
  connectMs: 1_000,
  acquireMs: 1_000,
  queryMs: 1_500,
  writeMs: 2_000,
  statementMs: 800,
};
const HEALTH = { timeoutMs: 500, cacheMs: 200 };
/**
 * A read during an outage ends at its statement's query timeout (a connection it holds), or at
 * the connect timeout (a new one); a request pays one of them once, whatever number of
 * statements it has. The rest is slack for a loaded 2-core machine.
 */
const READ_BOUND_MS = TIMEOUTS.queryMs + 700;
/** A push ends at its first statement's write timeout, or at the connect timeout. */
const PUSH_BOUND_MS = TIMEOUTS.writeMs + 700;
/** Slack over 1 s for the health routes (a loaded 2-core machine). */
const HEALTH_BOUND_MS = 1_000;

const sleep = (ms: number) => new Promise((resolvePromise) => setTimeout(resolvePromise, ms));

interface Answer {
  at: number;
  ms: number;
  status: number;
  text: string;
  retryAfter: string | null;
}

interface PooledConnection {
  release(): void;
}
interface Pool {
  getConnection(callback: (error: Error | null, connection: PooledConnection) => void): void;
  _allConnections: { toArray(): PooledConnection[] };
}
const poolOf = (dataSource: DataSource) => (dataSource.driver as unknown as { pool: Pool }).pool;

const available = findMysqlServerBinary() !== undefined;

describe.skipIf(!available)("database faults (own MariaDB, real sockets)", () => {
  let server: ThrowawayMysql;
  let dataSource: DataSource;
  let app: FastifyInstance;
  let base: string;
  let databaseUrl: string;
  let log = "";

  beforeAll(async () => {
    server = await startThrowawayMysql({ bufferPoolMb: 64 });
    const database = await createTestDatabase(server.url);
    databaseUrl = database.url;
    const store = await openStore(storeConfig(database.url, { timeouts: TIMEOUTS }), { migrate: true });
    dataSource = store.dataSource;
    const stream = new PassThrough();
    stream.on("data", (chunk) => (log += chunk));
    app = await createApp({
      dataSource,
      schema: await buildTrailGraphSchema(),
      cost: TEST_COST_LIMITS,
      ingest: { token: TOKEN, maxBytes: 1024 * 1024 },
      health: HEALTH,
      logger: { stream },
    });
    await app.listen({ port: 0, host: "127.0.0.1" });
    const address = app.server.address();
    base = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  });
  afterAll(async () => {
    await app?.close();
    await dataSource?.destroy().catch(() => {});
    await server?.stop();
  });

  const timed = async (path: string, init?: RequestInit): Promise<Answer> => {
    const at = Date.now();
    const response = await fetch(`${base}${path}`, init);
    const text = await response.text();
    return { at, ms: Date.now() - at, status: response.status, text, retryAfter: response.headers.get("retry-after") };
  };
  const query = (text: string) =>
    timed("/graphql", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: text }),
    });
  const push = (events: unknown[]) =>
    timed("/ingest", {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify(events),
    });
  /** No answer may carry the database's address. */
  const expectNoAddress = (answers: Answer[]) => {
    for (const answer of answers) {
      expect(answer.text).not.toContain("127.0.0.1");
      expect(answer.text).not.toContain(String(server.port));
    }
  };
  const errorCode = (answer: Answer) => JSON.parse(answer.text).errors?.[0]?.extensions?.code;

  it("a statement past the server's limit: 504 STATEMENT_TIMEOUT, and the connection serves on", async () => {
    const first = await push([buildEvent(), buildEvent()]);
    expect(first.status).toBe(200);
    // A table locked by another session: the read waits for the lock until the server's
    // statement limit ends it.
    const admin = await createConnection({ uri: databaseUrl });
    try {
      await admin.query("LOCK TABLES events WRITE");
      const answer = await query("{ events(first: 2) { totalCount } }");
      expect(answer.status).toBe(504);
      expect(errorCode(answer)).toBe("STATEMENT_TIMEOUT");
      expect(JSON.parse(answer.text).errors[0].message).toMatch(/time limit/);
      expect(answer.ms).toBeGreaterThanOrEqual(TIMEOUTS.statementMs - 50);
      expect(answer.ms).toBeLessThan(TIMEOUTS.queryMs);
      expectNoAddress([answer]);
    } finally {
      await admin.query("UNLOCK TABLES");
      await admin.end();
    }
    const after = await query("{ events(first: 2) { totalCount } }");
    expect(after.status).toBe(200);
    expect(JSON.parse(after.text).data.events.totalCount).toBe(2);
  });

  it("every pooled connection busy: a read waits at most the acquire timeout, then 503", async () => {
    const pool = poolOf(dataSource);
    const taken: PooledConnection[] = [];
    try {
      for (let i = 0; i < 10; i++)
        taken.push(await new Promise((ok, fail) => pool.getConnection((e, c) => (e ? fail(e) : ok(c)))));
      const answer = await query("{ events(first: 2) { totalCount } }");
      expect(answer.status).toBe(503);
      expect(errorCode(answer)).toBe("DATABASE_UNAVAILABLE");
      expect(answer.retryAfter).toBe("5");
      expect(answer.ms).toBeGreaterThanOrEqual(TIMEOUTS.acquireMs - 50);
      expect(answer.ms).toBeLessThan(TIMEOUTS.acquireMs + 700);
    } finally {
      for (const connection of taken) connection.release();
    }
    expect((await query("{ events(first: 2) { totalCount } }")).status).toBe(200);
  });

  it("a statement without an answer: its connection is closed, never handed out again", async () => {
    const pool = poolOf(dataSource);
    // Several connections open and free: each statement below takes one already open.
    const held: PooledConnection[] = [];
    for (let i = 0; i < 4; i++)
      held.push(await new Promise((ok, fail) => pool.getConnection((e, c) => (e ? fail(e) : ok(c)))));
    for (const connection of held) connection.release();
    const before = pool._allConnections.toArray();
    expect(before.length).toBeGreaterThanOrEqual(4);
    server.pause();
    try {
      const started = Date.now();
      const read = readerOf(dataSource)("SELECT 1 AS one", []);
      await expect(read).rejects.toMatchObject({ extensions: { code: "DATABASE_UNAVAILABLE" } });
      expect(Date.now() - started).toBeLessThan(TIMEOUTS.queryMs + 700);
      // Through TypeORM (writes): the same, at the write timeout.
      await expect(dataSource.query("SELECT 1 AS one")).rejects.toMatchObject({
        driverError: { code: "PROTOCOL_SEQUENCE_TIMEOUT" },
      });
      const after = pool._allConnections.toArray();
      // The two connections that waited are gone from the pool; nothing else changed.
      expect(before.filter((connection) => !after.includes(connection))).toHaveLength(2);
    } finally {
      server.resume();
    }
    expect((await query("{ events(first: 2) { totalCount } }")).status).toBe(200);
  });

  it("a new connection to a paused server fails at the connect timeout", async () => {
    server.pause();
    try {
      const started = Date.now();
      // TypeORM opens (and checks) its first connection as it initializes.
      const error = await openStore(storeConfig(databaseUrl, { timeouts: TIMEOUTS }), { migrate: false }).catch(
        (thrown: Error) => thrown,
      );
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).toMatch(/ETIMEDOUT/);
      expect(Date.now() - started).toBeLessThan(TIMEOUTS.connectMs + 700);
    } finally {
      server.resume();
    }
  });

  it("paused, then restarted under load: bounded failures with the documented codes, full recovery, every event once", async () => {
    const reads: Answer[] = [];
    const pushes: Answer[] = [];
    const live: Answer[] = [];
    const ready: Array<Answer & { phase: string }> = [];
    const pushed = new Set<string>();
    let phase = "before";
    let running = true;

    const reader = async () => {
      while (running) {
        reads.push(await query("{ events(first: 5) { totalCount edges { node { eventId eventName } } } }"));
        await sleep(20);
      }
    };
    const pusher = async () => {
      while (running) {
        const events = Array.from({ length: 30 }, () => buildEvent());
        // A push that met an outage is pushed again, as its answer says, until it is stored.
        for (;;) {
          const answer = await push(events);
          pushes.push(answer);
          if (answer.status === 200) break;
          await sleep(100);
        }
        for (const event of events) pushed.add(event.eventId);
      }
    };
    const prober = async () => {
      while (running) {
        live.push(await timed("/health/live"));
        ready.push({ ...(await timed("/health/ready")), phase });
        await sleep(100);
      }
    };
    const load = [reader(), reader(), reader(), pusher(), prober()];

    await sleep(1_500);
    phase = "paused";
    const pausedAt = Date.now();
    server.pause();
    await sleep(4_000);
    server.resume();
    const resumedAt = Date.now();
    phase = "resumed";
    await sleep(3_000);
    phase = "restarting";
    const restartAt = Date.now();
    await server.restart();
    phase = "restarted";
    await sleep(4_000);
    phase = "after";
    await sleep(1_500);
    running = false;
    await Promise.all(load);

    const failed = reads.filter((answer) => answer.status !== 200);
    if (process.env.TRAILGRAPH_FAULTS_TRACE === "1") {
      const show = (answer: Answer) => `${answer.at - pausedAt}:${answer.status}/${answer.ms}`;
      console.log(
        `reads ${reads.map(show).join(" ")}\npushes ${pushes.map(show).join(" ")}\nready ${ready.map(show).join(" ")}`,
      );
      console.log(`resumed ${resumedAt - pausedAt} restart ${restartAt - pausedAt}`);
    }
    const duringPause = reads.filter((answer) => answer.at >= pausedAt && answer.at < resumedAt);
    // Reads met the pause, and every one of them ended within the bound.
    expect(duringPause.length).toBeGreaterThan(0);
    expect(duringPause.some((answer) => answer.status === 503)).toBe(true);
    expect(Math.max(...reads.map((answer) => answer.ms))).toBeLessThan(READ_BOUND_MS);
    for (const answer of failed) {
      expect([503, 504]).toContain(answer.status);
      const code = errorCode(answer);
      expect(code).toBe(answer.status === 503 ? "DATABASE_UNAVAILABLE" : "STATEMENT_TIMEOUT");
      if (answer.status === 503) {
        expect(answer.retryAfter).toBe("5");
        expect(JSON.parse(answer.text).errors[0].message).toBe("The database is unavailable; try again in 5 seconds.");
      }
    }
    // The restart was seen too (refused or lost connections), and answered as an outage.
    expect(failed.some((answer) => answer.at >= restartAt)).toBe(true);
    // Pushes: failures are outages, said with Retry-After, and bounded by the write timeout.
    const failedPushes = pushes.filter((answer) => answer.status !== 200);
    expect(failedPushes.length).toBeGreaterThan(0);
    for (const answer of failedPushes) {
      expect([503, 504]).toContain(answer.status);
      const body = JSON.parse(answer.text);
      expect(body.code).toBe(answer.status === 503 ? "DATABASE_UNAVAILABLE" : "STATEMENT_TIMEOUT");
      if (answer.status === 503) expect(answer.retryAfter).toBe("5");
      expect(body.stored).toMatch(/push the same body again/);
    }
    expect(Math.max(...pushes.map((answer) => answer.ms))).toBeLessThan(PUSH_BOUND_MS);
    expectNoAddress([...reads, ...pushes, ...live, ...ready]);

    // Liveness never depends on the database; readiness reports the outage, both answer in time.
    expect(live.every((answer) => answer.status === 200)).toBe(true);
    expect(Math.max(...live.map((answer) => answer.ms), ...ready.map((answer) => answer.ms))).toBeLessThan(
      HEALTH_BOUND_MS,
    );
    const pausedProbes = ready.filter((answer) => answer.phase === "paused" && answer.at > pausedAt + HEALTH.cacheMs);
    expect(pausedProbes.length).toBeGreaterThan(0);
    expect(pausedProbes.every((answer) => answer.status === 503)).toBe(true);
    expect(JSON.parse(pausedProbes[0].text)).toMatchObject({ status: "unavailable", failed: "database" });
    expect(pausedProbes[0].retryAfter).toBe("5");

    // Recovered without restarting the app: the last answers of every kind are good.
    const settled = (answers: Answer[]) => answers.filter((answer) => answer.at > restartAt + 5_000);
    expect(settled(reads).length).toBeGreaterThan(0);
    expect(settled(reads).every((answer) => answer.status === 200)).toBe(true);
    expect(settled(ready).length).toBeGreaterThan(0);
    expect(settled(ready).every((answer) => answer.status === 200)).toBe(true);
    expect((await timed("/health")).status).toBe(200);

    // Every pushed event stored, once.
    const rows: Array<{ event_id: string }> = await dataSource.query("SELECT event_id FROM events");
    const stored = rows.map((row) => row.event_id);
    expect(new Set(stored).size).toBe(stored.length);
    for (const id of pushed) expect(stored).toContain(id);
    // The log has the driver's errors under the request IDs clients were given.
    const requestId = JSON.parse(failed[0].text).errors[0].extensions.requestId;
    expect(log).toContain(requestId);
  }, 90_000);
});
