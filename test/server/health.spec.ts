/**
 * GET /health/live, /health/ready and /health: liveness never touches the database; readiness
 * checks that the database answers and holds every migration, caches its answer briefly,
 * answers in time whatever the database does, and says which check failed without any address.
 * The settings of the health checks and of the database timeouts are validated at startup.
 */
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SettingsError } from "../../src/auth/settings";
import { statementCounter } from "../../src/db/datasource";
import { databaseTimeouts, DEFAULT_DATABASE_TIMEOUTS } from "../../src/db/faults";
import { buildTrailGraphSchema } from "../../src/schema/build";
import { createApp } from "../../src/server/app";
import { DEFAULT_DEADLINES } from "../../src/server/deadline";
import { DEFAULT_HEALTH, healthSettings } from "../../src/server/health";
import { openTestStore, type TestStore } from "../support/harness";
import { storesUnderTest } from "../support/stores";

describe("health and database timeout settings", () => {
  it("defaults suit production; every value is checked and a bad one names its variable", () => {
    expect(healthSettings({})).toEqual(DEFAULT_HEALTH);
    expect(healthSettings({ TRAILGRAPH_HEALTH_TIMEOUT_MS: "250", TRAILGRAPH_HEALTH_CACHE_MS: "0" })).toEqual({
      timeoutMs: 250,
      cacheMs: 0,
    });
    expect(() => healthSettings({ TRAILGRAPH_HEALTH_TIMEOUT_MS: "0" })).toThrow(/TRAILGRAPH_HEALTH_TIMEOUT_MS '0'/);
    expect(() => healthSettings({ TRAILGRAPH_HEALTH_CACHE_MS: "soon" })).toThrow(SettingsError);

    expect(databaseTimeouts({})).toEqual(DEFAULT_DATABASE_TIMEOUTS);
    // A long statement is ended by the server before the client gives up on it, and a read stuck
    // on a hung database is answered 503 DATABASE_UNAVAILABLE before the request's deadline (504).
    expect(DEFAULT_DATABASE_TIMEOUTS.statementMs).toBeLessThan(DEFAULT_DATABASE_TIMEOUTS.queryMs);
    expect(DEFAULT_DATABASE_TIMEOUTS.queryMs).toBeLessThan(DEFAULT_DEADLINES.requestTimeoutMs!);
    expect(
      databaseTimeouts({
        TRAILGRAPH_DB_CONNECT_TIMEOUT_MS: "2000",
        TRAILGRAPH_DB_ACQUIRE_TIMEOUT_MS: "3000",
        TRAILGRAPH_DB_QUERY_TIMEOUT_MS: "4000",
        TRAILGRAPH_DB_WRITE_TIMEOUT_MS: "5000",
        TRAILGRAPH_STATEMENT_TIMEOUT_MS: "off",
      }),
    ).toEqual({ connectMs: 2000, acquireMs: 3000, queryMs: 4000, writeMs: 5000, statementMs: 0 });
    expect(databaseTimeouts({ TRAILGRAPH_STATEMENT_TIMEOUT_MS: "0" }).statementMs).toBe(0);
    for (const name of [
      "TRAILGRAPH_DB_CONNECT_TIMEOUT_MS",
      "TRAILGRAPH_DB_ACQUIRE_TIMEOUT_MS",
      "TRAILGRAPH_DB_QUERY_TIMEOUT_MS",
      "TRAILGRAPH_DB_WRITE_TIMEOUT_MS",
      "TRAILGRAPH_STATEMENT_TIMEOUT_MS",
    ]) {
      for (const bad of ["-1", "1.5", "ten", "99999999999"]) {
        expect(() => databaseTimeouts({ [name]: bad })).toThrow(SettingsError);
        expect(() => databaseTimeouts({ [name]: bad })).toThrow(`${name} '${bad}'`);
      }
    }
    // Only the statement limit may be switched off.
    expect(() => databaseTimeouts({ TRAILGRAPH_DB_QUERY_TIMEOUT_MS: "off" })).toThrow(SettingsError);
    expect(() => databaseTimeouts({ TRAILGRAPH_DB_CONNECT_TIMEOUT_MS: "0" })).toThrow(SettingsError);
  });
});

describe.each(storesUnderTest())("health routes ($kind)", ({ kind, available }) => {
  let store: TestStore;
  let app: FastifyInstance;
  beforeAll(async () => {
    if (!available) return;
    store = await openTestStore(kind);
    app = await createApp({
      dataSource: store.dataSource,
      schema: await buildTrailGraphSchema(),
      health: { timeoutMs: 500, cacheMs: 300 },
    });
  });
  afterAll(async () => {
    await app?.close();
    await store?.close();
  });
  const get = async (url: string) => {
    const response = await app.inject({ method: "GET", url });
    return { status: response.statusCode, body: JSON.parse(response.body), headers: response.headers };
  };
  const sleep = (ms: number) => new Promise((resolvePromise) => setTimeout(resolvePromise, ms));

  it.skipIf(!available)("live and ready: 200 on a migrated store; /health answers as /health/ready", async () => {
    expect(await get("/health/live")).toMatchObject({ status: 200, body: { status: "ok" } });
    const ready = await get("/health/ready");
    expect(ready).toMatchObject({ status: 200, body: { status: "ok", checks: { database: "ok", migrations: "ok" } } });
    expect(ready.headers["cache-control"]).toBe("no-store");
    expect(await get("/health")).toMatchObject({ status: 200, body: { status: "ok" } });
  });

  it.skipIf(!available)("a missing migration: 503 naming the migrations check; cached for cacheMs", async () => {
    await sleep(350);
    const counter = statementCounter(store.dataSource);
    const newest = store.dataSource.migrations.at(-1)!;
    const name = newest.name ?? newest.constructor.name;
    await store.dataSource.query("DELETE FROM migrations WHERE name = ?", [name]);
    try {
      const before = counter.count;
      const answer = await get("/health/ready");
      expect(answer.status).toBe(503);
      expect(answer.headers["retry-after"]).toBe("5");
      expect(answer.body).toMatchObject({
        status: "unavailable",
        failed: "migrations",
        checks: { migrations: "pending" },
      });
      expect(answer.body.reason).toMatch(/1 migration\(s\) not applied/);
      // Polled again within cacheMs: the same answer, no statement.
      const checked = counter.count;
      expect(checked - before).toBe(1);
      for (let i = 0; i < 5; i++) expect((await get("/health")).status).toBe(503);
      expect(counter.count).toBe(checked);
      // Liveness does not care.
      expect((await get("/health/live")).status).toBe(200);
    } finally {
      const timestamp = Number(/(\d{13})/.exec(name)![1]);
      await store.dataSource.query("INSERT INTO migrations (timestamp, name) VALUES (?, ?)", [timestamp, name]);
    }
    await sleep(350);
    expect((await get("/health/ready")).status).toBe(200);
  });
});
