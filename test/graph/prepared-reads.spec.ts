/**
 * On MySQL the read side sends prepared statements (src/db/reader.ts): each statement text is
 * prepared once per connection and kept, at most TRAILGRAPH_DB_STATEMENTS of them; the answers
 * (dates, JSON, booleans, counts, cursors) are the same as with unprepared statements; `0`
 * turns them off; and when the server will not prepare any more statements, reads still answer.
 */
import type { DataSource } from "typeorm";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { storeConfig } from "../../src/db/datasource";
import { openStore } from "../../src/db/open";
import { UNPREPARED_PAUSE_MS } from "../../src/db/reader";
import { generateEvents } from "../../src/generate/generator";
import { dataOf, openTestApp, openTestStore, type TestApp, type TestStore } from "../support/harness";

const available = inject("mysqlUrl") != null;

/** Every kind of value the graph reads, from every list. */
const QUERY = `{
  events(first: 40) {
    totalCount
    edges { cursor node {
      id eventId eventTime eventName eventType eventRW failed errorCode errorMessage acsRegion
      requestParameters responseElements additionalEventData sessionCreatedAt mfaAuthenticated isGlobal
      userIdentity { type userName accessKeyId principalId }
      account { accountId firstSeenAt }
      referencedResources { type resourceId }
      orders { orderId createdAt }
    } }
    pageInfo { hasNextPage endCursor }
  }
  eventCounts(by: EVENT_NAME, first: 5) { key count }
  accounts(first: 3) { nodes { accountId
    eventCounts(by: REGION, filter: { from: "2025-01-02T00:00:00Z", to: "2025-01-05T12:00:00Z" }) { key count }
    orders(first: 5) { nodes { orderId items { articleConfig resource { resourceId events(first: 3) { nodes { eventId eventTime } } } } } }
  } }
}`;

/** Counts the reads a DataSource's mysql2 pool is asked for, prepared or not (calls go through unchanged). */
function countPoolCalls(dataSource: DataSource): { execute: number; query: number } {
  type Connection = Record<"execute" | "query", (...args: unknown[]) => unknown> & { counted?: boolean };
  const pool = (dataSource.driver as unknown as { pool: { getConnection(callback: Function): void } }).pool;
  const calls = { execute: 0, query: 0 };
  // Reads run on a connection taken from the pool (src/db/reader.ts): count on each one handed out.
  const getConnection = pool.getConnection.bind(pool);
  pool.getConnection = (callback: Function) =>
    getConnection((error: Error | null, connection: Connection) => {
      if (connection && !connection.counted) {
        connection.counted = true;
        for (const method of ["execute", "query"] as const) {
          const real = connection[method].bind(connection);
          connection[method] = (...args: unknown[]) => {
            calls[method]++;
            return real(...args);
          };
        }
      }
      callback(error, connection);
    });
  return calls;
}

/** mysql2's prepared statements, per pool connection. */
function preparedPerConnection(dataSource: DataSource): number[] {
  const pool = (dataSource.driver as unknown as { pool: { _allConnections: { toArray(): unknown[] } } }).pool;
  return pool._allConnections
    .toArray()
    .map((connection) => (connection as { _statements: { size: number } })._statements.size);
}

describe.skipIf(!available)("prepared reads on MySQL", () => {
  let store: TestStore;
  beforeAll(async () => {
    store = await openTestStore("mysql");
    const events = [
      ...generateEvents({ events: 600, accounts: 3, seed: 5, days: 6, start: new Date("2025-01-01T00:00:00Z") }),
    ];
    expect((await store.ingestEvents(events)).inserted).toBe(600);
  });
  afterAll(async () => store?.close());

  /** Another server on the same database, opened with TRAILGRAPH_DB_STATEMENTS set to `statements`. */
  async function serverWith(statements: string | undefined): Promise<TestApp> {
    const before = process.env.TRAILGRAPH_DB_STATEMENTS;
    if (statements === undefined) delete process.env.TRAILGRAPH_DB_STATEMENTS;
    else process.env.TRAILGRAPH_DB_STATEMENTS = statements;
    try {
      return await openTestApp(store.url, { migrate: false });
    } finally {
      if (before === undefined) delete process.env.TRAILGRAPH_DB_STATEMENTS;
      else process.env.TRAILGRAPH_DB_STATEMENTS = before;
    }
  }

  it("prepares each read once per connection and answers as unprepared reads do", async () => {
    const prepared = await serverWith(undefined);
    const unprepared = await serverWith("0");
    try {
      const first = dataOf(await prepared.graphql(QUERY));
      const kept = preparedPerConnection(prepared.dataSource).reduce((sum, n) => sum + n, 0);
      expect(kept).toBeGreaterThan(3);
      // The same query again, now from statements already prepared.
      expect(dataOf(await prepared.graphql(QUERY))).toEqual(first);
      expect(dataOf(await unprepared.graphql(QUERY))).toEqual(first);
      expect(preparedPerConnection(unprepared.dataSource).every((n) => n === 0)).toBe(true);
      expect(first.events.edges).toHaveLength(40);
      expect(first.events.edges.some((edge: any) => edge.node.requestParameters !== null)).toBe(true);
    } finally {
      await prepared.close();
      await unprepared.close();
    }
  });

  it("keeps at most TRAILGRAPH_DB_STATEMENTS per connection", async () => {
    const server = await serverWith("2");
    try {
      for (const size of [1, 2, 3, 4, 5, 6])
        dataOf(await server.graphql(`{ events(first: ${size}) { nodes { eventId } } }`));
      const counts = preparedPerConnection(server.dataSource);
      expect(Math.max(...counts)).toBeLessThanOrEqual(2);
      expect(Math.max(...counts)).toBeGreaterThan(0);
    } finally {
      await server.close();
    }
  });

  it("reads unprepared when the server will not prepare more statements, and tries again after a pause", async () => {
    const admin = await openStore(storeConfig(store.url), { migrate: false });
    const [{ limit }] = await admin.dataSource.query("SELECT @@GLOBAL.max_prepared_stmt_count AS `limit`");
    const server = await serverWith(undefined);
    const calls = countPoolCalls(server.dataSource);
    try {
      const expected = dataOf(await server.graphql(QUERY));
      await admin.dataSource.query("SET GLOBAL max_prepared_stmt_count = 0");
      // Statements not yet prepared on this server's connections: the first refusal pauses preparing.
      const fresh = QUERY.replace("events(first: 40)", "events(first: 39)");
      const answer = dataOf(await server.graphql(fresh));
      expect(answer.events.edges).toHaveLength(39);
      const refused = calls.execute;
      expect(refused).toBeGreaterThan(0);
      // Within the pause, reads go straight to unprepared statements: no failed round trip each.
      const queried = calls.query;
      expect(
        dataOf(await server.graphql(QUERY.replace("events(first: 40)", "events(first: 38)"))).events.edges,
      ).toHaveLength(38);
      expect(calls.execute).toBe(refused);
      expect(calls.query).toBeGreaterThan(queried);
      // After the pause, with the limit lifted, reads are prepared again.
      await admin.dataSource.query(`SET GLOBAL max_prepared_stmt_count = ${Number(limit)}`);
      await new Promise((resolve) => setTimeout(resolve, UNPREPARED_PAUSE_MS + 100));
      const before = calls.execute;
      expect(dataOf(await server.graphql(QUERY))).toEqual(expected);
      expect(calls.execute).toBeGreaterThan(before);
      expect(preparedPerConnection(server.dataSource).some((n) => n > 0)).toBe(true);
    } finally {
      await admin.dataSource.query(`SET GLOBAL max_prepared_stmt_count = ${Number(limit)}`);
      await server.close();
      await admin.dataSource.destroy();
    }
  }, 30_000);

  it("refuses a TRAILGRAPH_DB_STATEMENTS that is not a whole number", () => {
    const before = process.env.TRAILGRAPH_DB_STATEMENTS;
    try {
      for (const bad of ["-1", "ten", "2.5"]) {
        process.env.TRAILGRAPH_DB_STATEMENTS = bad;
        expect(() => storeConfig(store.url)).toThrow(`TRAILGRAPH_DB_STATEMENTS '${bad}' is not a whole number`);
      }
    } finally {
      if (before === undefined) delete process.env.TRAILGRAPH_DB_STATEMENTS;
      else process.env.TRAILGRAPH_DB_STATEMENTS = before;
    }
  });
});
