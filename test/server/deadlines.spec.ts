/**
 * Each request's deadline, client disconnects, the row limit and the answer size limit
 * (src/server/deadline.ts) over the real HTTP app and real data: what each stops, that it stops
 * the SQL too, the error code and status it answers, and that a request within the limits is
 * answered as before.
 */
import { connect } from "node:net";
import { PassThrough } from "node:stream";
import type { FastifyInstance } from "fastify";
import type { GraphQLSchema } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SettingsError } from "../../src/auth/settings";
import { buildTrailGraphSchema } from "../../src/schema/build";
import { createApp } from "../../src/server/app";
import { NO_COST_LIMITS } from "../../src/server/cost-limits";
import {
  DEFAULT_DEADLINES,
  deadlineSettings,
  NO_DEADLINES,
  oversize,
  RequestGuard,
  type DeadlineSettings,
} from "../../src/server/deadline";
import { COMPILE_AFTER } from "../../src/server/executor";
import { buildEvent, ramUser } from "../support/event-builder";
import { openTestStore, type TestStore } from "../support/harness";
import { storesUnderTest } from "../support/stores";

/** Identities of the data set; every level of a chain reads `first` events of each. */
const USERS = 30;
const EVENTS = 3_000;

/**
 * Events, then each one's identity's events, `levels` deep: every level is a statement sent
 * after the one before answered (its parents come from it), so a stopped request shows as
 * fewer statements. Each level's filter is its own (the same events), or the request's
 * DataLoaders would answer the deeper levels from the first.
 */
function chain(levels: number, first: number, top = first, topFields = ""): string {
  let inner = "eventId";
  for (let level = levels; level > 0; level--) {
    const filter = `{ eventNames: ["DescribeInstances", "level${level}"] }`;
    inner = `eventId userIdentity { userName events(first: ${first}, filter: ${filter}) { nodes { ${inner} } } }`;
  }
  return `{ events(first: ${top}) { nodes { ${topFields} ${inner} } } }`;
}

describe("deadline settings", () => {
  it("defaults suit production; 0 and off turn a limit off; a bad value names its variable", () => {
    expect(deadlineSettings({})).toEqual(DEFAULT_DEADLINES);
    expect(DEFAULT_DEADLINES).toEqual({
      requestTimeoutMs: 15_000,
      maxResponseBytes: 64 * 1024 * 1024,
      maxRows: 100_000,
      maxNodes: 20_000,
    });
    expect(
      deadlineSettings({
        TRAILGRAPH_REQUEST_TIMEOUT_MS: "off",
        TRAILGRAPH_MAX_RESPONSE_BYTES: "0",
        TRAILGRAPH_MAX_ROWS: " OFF ",
        TRAILGRAPH_MAX_NODES: "off",
      }),
    ).toEqual(NO_DEADLINES);
    expect(
      deadlineSettings({
        TRAILGRAPH_REQUEST_TIMEOUT_MS: "2500",
        TRAILGRAPH_MAX_RESPONSE_BYTES: "1048576",
        TRAILGRAPH_MAX_ROWS: "500",
        TRAILGRAPH_MAX_NODES: "700",
      }),
    ).toEqual({ requestTimeoutMs: 2500, maxResponseBytes: 1048576, maxRows: 500, maxNodes: 700 });
    for (const [name, value] of [
      ["TRAILGRAPH_REQUEST_TIMEOUT_MS", "15s"],
      ["TRAILGRAPH_REQUEST_TIMEOUT_MS", "-1"],
      ["TRAILGRAPH_REQUEST_TIMEOUT_MS", "3000000000"],
      ["TRAILGRAPH_MAX_RESPONSE_BYTES", "16MiB"],
      ["TRAILGRAPH_MAX_ROWS", "1.5"],
      ["TRAILGRAPH_MAX_NODES", "many"],
    ]) {
      expect(() => deadlineSettings({ [name]: value }), `${name}=${value}`).toThrow(SettingsError);
      expect(() => deadlineSettings({ [name]: value }), `${name}=${value}`).toThrow(`${name} '${value}'`);
    }
  });

  it("the deadline stops a request on its own, while it waits: its signal is aborted with the reason", async () => {
    const guard = new RequestGuard({ ...NO_DEADLINES, requestTimeoutMs: 30 }, null);
    const signal = guard.signal;
    expect(signal.aborted).toBe(false);
    expect(guard.stopped()).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toMatchObject({ extensions: { code: "DEADLINE_EXCEEDED", http: { status: 504 } } });
    expect(guard.stopped()).toBe(true);
    // Without a deadline, nothing stops it.
    const open = new RequestGuard(NO_DEADLINES, null);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(open.stopped()).toBe(false);
    expect(open.signal.aborted).toBe(false);
  });

  it("lists answered without a statement are stopped by the deadline too, and counted", async () => {
    const guard = new RequestGuard({ ...NO_DEADLINES, requestTimeoutMs: 20, maxNodes: 10 }, null);
    guard.countNodes(10);
    expect(() => guard.countNodes(1)).toThrow(/more than 10 list items/);
    const late = new RequestGuard({ ...NO_DEADLINES, requestTimeoutMs: 20 }, null);
    late.countNodes(1_000_000);
    // No timer fires while a request answers from what it read (the event loop does not turn).
    const until = performance.now() + 40;
    while (performance.now() < until);
    expect(() => late.countNodes(1)).toThrow(/past its deadline/);
  });

  it("an answer's size is its UTF-8 bytes, not counted when its length shows it fits", () => {
    expect(oversize("a".repeat(1000), 1000)).toBe(-1);
    expect(oversize("a".repeat(1001), 1000)).toBe(1001);
    // 600 characters, 1,200 bytes: over a limit of 1,000 that the length alone is not.
    expect(oversize("é".repeat(600), 1000)).toBe(1200);
    expect(oversize("é".repeat(500), 1000)).toBe(-1);
    expect(oversize("€".repeat(334), 1000)).toBe(1002);
    expect(oversize("😀".repeat(250), 1000)).toBe(-1);
    expect(oversize("😀".repeat(251), 1000)).toBe(1004);
    // Past the limit by its length alone, the size is still its bytes.
    expect(oversize("é".repeat(1500), 1000)).toBe(3000);
  });
});

describe.each(storesUnderTest())("deadlines and response limits ($kind)", ({ kind, available }) => {
  let store: TestStore;
  let schema: GraphQLSchema;
  const apps: FastifyInstance[] = [];

  beforeAll(async () => {
    if (!available) return;
    store = await openTestStore(kind);
    const events = Array.from({ length: EVENTS }, (_, n) =>
      buildEvent({ userIdentity: ramUser(`user${n % USERS}`), requestParameters: { RegionId: "cn-hangzhou", n } }),
    );
    await store.ingestEvents(events);
    schema = await buildTrailGraphSchema();
  }, 120_000);
  afterAll(async () => {
    for (const app of apps) await app.close();
    await store?.close();
  });

  async function appWith(limits: DeadlineSettings, logger?: { stream: NodeJS.WritableStream }) {
    const app = await createApp({ dataSource: store.dataSource, schema, cost: NO_COST_LIMITS, limits, logger });
    apps.push(app);
    return app;
  }

  /** POSTs `query`; answers the status, the parsed body and the statements it sent. */
  async function post(app: FastifyInstance, query: string) {
    const before = store.statements();
    const response = await app.inject({
      method: "POST",
      url: "/graphql",
      headers: { "content-type": "application/json" },
      payload: JSON.stringify({ query }),
    });
    return {
      status: response.statusCode,
      text: response.body,
      body: JSON.parse(response.body),
      statements: store.statements() - before,
    };
  }

  it.skipIf(!available)("a request within the limits is answered as without them", async () => {
    const limited = await appWith(DEFAULT_DEADLINES);
    const unlimited = await appWith(NO_DEADLINES);
    const query = chain(6, 2);
    for (let run = 0; run <= COMPILE_AFTER; run++) {
      const answer = await post(limited, query);
      const plain = await post(unlimited, query);
      expect(answer.status, answer.text.slice(0, 300)).toBe(200);
      expect(answer.body.errors).toBeUndefined();
      expect(answer.text).toBe(plain.text);
      expect(answer.statements).toBe(plain.statements);
    }
  });

  it.skipIf(!available)(
    "past the deadline: 504 DEADLINE_EXCEEDED, no more statements, on graphql-js and compiled alike",
    async () => {
      const query = chain(5, 2, 500, "raw");
      const full = await post(await appWith(NO_DEADLINES), query);
      expect(full.status).toBe(200);
      expect(full.statements).toBeGreaterThanOrEqual(6);
      // Reading and hydrating the first page of 500 whole events takes longer than the deadline.
      const app = await appWith({ ...NO_DEADLINES, requestTimeoutMs: 1 });
      for (let run = 0; run <= COMPILE_AFTER + 1; run++) {
        const answer = await post(app, query);
        expect(answer.status, answer.text.slice(0, 300)).toBe(504);
        expect(answer.body).toEqual({
          errors: [
            {
              message: expect.stringMatching(/ran past its deadline of 1 ms.*ask for fewer rows/),
              extensions: { code: "DEADLINE_EXCEEDED" },
            },
          ],
        });
        // At most the first page's statements; the levels below it are never asked.
        expect(answer.statements, `run ${run}`).toBeLessThanOrEqual(2);
      }
    },
  );

  // A statement that waits: the table is locked by another connection until after the deadline.
  it.skipIf(!available || kind !== "mysql")(
    "a deadline that passes while the last statement waits: 504 all the same, though nothing failed",
    async () => {
      let log = "";
      const stream = new PassThrough();
      stream.on("data", (chunk) => (log += chunk));
      const app = await appWith({ ...NO_DEADLINES, requestTimeoutMs: 200 }, { stream });
      const locker = store.dataSource.createQueryRunner();
      await locker.connect();
      try {
        await locker.query("LOCK TABLES events WRITE");
        const answering = post(app, "{ events(first: 5) { nodes { eventId } } }");
        await new Promise((resolve) => setTimeout(resolve, 500));
        await locker.query("UNLOCK TABLES");
        const answer = await answering;
        // The request's one statement, and UNLOCK TABLES (the counter is the DataSource's).
        expect(answer.statements).toBe(2);
        expect(answer.status, answer.text.slice(0, 300)).toBe(504);
        expect(answer.body).toEqual({
          errors: [
            {
              message: expect.stringMatching(/ran past its deadline of 200 ms/),
              extensions: { code: "DEADLINE_EXCEEDED" },
            },
          ],
        });
        // The request log says so too, though no resolver failed.
        expect(log).toMatch(/"status":504,"ms":[\d.]+,"code":"DEADLINE_EXCEEDED","msg":"request"/);
      } finally {
        await locker.query("UNLOCK TABLES");
        await locker.release();
      }
    },
  );

  it.skipIf(!available)(
    "more rows than TRAILGRAPH_MAX_ROWS: 400 RESPONSE_TOO_LARGE at once, no more statements",
    async () => {
      const query = chain(2, 20);
      const full = await post(await appWith(NO_DEADLINES), query);
      expect(full.status).toBe(200);
      const app = await appWith({ ...NO_DEADLINES, maxRows: 300 });
      for (let run = 0; run <= COMPILE_AFTER; run++) {
        const answer = await post(app, query);
        expect(answer.status, answer.text.slice(0, 300)).toBe(400);
        expect(answer.body).toEqual({
          errors: [
            {
              message: expect.stringMatching(/more than 300 rows.*TRAILGRAPH_MAX_ROWS.*ask for fewer rows/),
              extensions: { code: "RESPONSE_TOO_LARGE" },
            },
          ],
        });
        // 20 events, then 20 of each of their 20 identities (400 rows): the third level is never asked.
        expect(answer.statements, `run ${run}`).toBeLessThan(full.statements);
        expect(answer.statements, `run ${run}`).toBeLessThanOrEqual(3);
      }
      // Just enough rows: the same answer as without a limit.
      const rows = await appWith({ ...NO_DEADLINES, maxRows: 20 + 20 * 20 + 30 * 20 });
      expect((await post(rows, query)).text).toBe(full.text);
    },
  );

  it.skipIf(!available)(
    "more list items than TRAILGRAPH_MAX_NODES, answered from one read: 400 RESPONSE_TOO_LARGE",
    async () => {
      // Ten aliases of one page: the request's DataLoader reads it once (30 rows, one statement)
      // and answers it ten times (300 items).
      const query = `{ ${Array.from({ length: 10 }, (_, n) => `p${n}: events(first: 30) { nodes { eventId } }`).join(" ")} }`;
      const full = await post(await appWith(NO_DEADLINES), query);
      expect(full.status).toBe(200);
      expect(full.statements).toBe(1);
      const app = await appWith({ ...NO_DEADLINES, maxRows: 100, maxNodes: 100 });
      for (let run = 0; run <= COMPILE_AFTER; run++) {
        const answer = await post(app, query);
        expect(answer.status, answer.text.slice(0, 300)).toBe(400);
        expect(answer.body).toEqual({
          errors: [
            {
              message: expect.stringMatching(/more than 100 list items.*TRAILGRAPH_MAX_NODES.*ask for fewer rows/),
              extensions: { code: "RESPONSE_TOO_LARGE" },
            },
          ],
        });
      }
      // Just enough items: the same answer as without a limit.
      const enough = await appWith({ ...NO_DEADLINES, maxRows: 100, maxNodes: 300 });
      expect((await post(enough, query)).text).toBe(full.text);
    },
  );

  it.skipIf(!available)(
    "an answer above TRAILGRAPH_MAX_RESPONSE_BYTES: 400 RESPONSE_TOO_LARGE with its size and the limit",
    async () => {
      const query = "{ events(first: 100) { nodes { eventId eventName eventTime } } }";
      const full = await post(await appWith(NO_DEADLINES), query);
      const size = Buffer.byteLength(full.text);
      expect(size).toBeGreaterThan(5_000);
      const app = await appWith({ ...NO_DEADLINES, maxResponseBytes: size - 1 });
      const answer = await post(app, query);
      expect(answer.status, answer.text.slice(0, 300)).toBe(400);
      expect(answer.body).toEqual({
        errors: [
          {
            message: `The answer is ${size} bytes, more than the server's limit of ${size - 1} bytes (TRAILGRAPH_MAX_RESPONSE_BYTES); ask for fewer rows (smaller first/last, fewer nested lists) or fewer fields.`,
            extensions: { code: "RESPONSE_TOO_LARGE" },
          },
        ],
      });
      // At the limit exactly: unchanged.
      const exact = await appWith({ ...NO_DEADLINES, maxResponseBytes: size });
      const same = await post(exact, query);
      expect(same.status).toBe(200);
      expect(same.text).toBe(full.text);
    },
  );

  it.skipIf(!available)("the request log has each refusal's status and code", async () => {
    const cases: [DeadlineSettings, string, number, string][] = [
      [{ ...NO_DEADLINES, requestTimeoutMs: 1 }, chain(5, 2, 500, "raw"), 504, "DEADLINE_EXCEEDED"],
      [{ ...NO_DEADLINES, maxRows: 300 }, chain(2, 20), 400, "RESPONSE_TOO_LARGE"],
      [
        { ...NO_DEADLINES, maxResponseBytes: 2000 },
        "{ events(first: 100) { nodes { eventId } } }",
        400,
        "RESPONSE_TOO_LARGE",
      ],
    ];
    for (const [limits, query, status, code] of cases) {
      let log = "";
      const stream = new PassThrough();
      stream.on("data", (chunk) => (log += chunk));
      const app = await appWith(limits, { stream });
      const answer = await post(app, query);
      expect(answer.status).toBe(status);
      const line = log
        .trim()
        .split("\n")
        .map((text) => JSON.parse(text))
        .find((entry) => entry.msg === "request");
      expect(line, code).toMatchObject({ path: "/graphql", status, code, statements: answer.statements });
    }
  });

  // A client can only be seen to leave while the event loop turns: MySQL's statements wait on the
  // network, SQLite's run synchronously one after another.
  it.skipIf(!available || kind !== "mysql")(
    "a client that goes away: no more statements, logged as 499 CLIENT_CLOSED",
    async () => {
      let log = "";
      const stream = new PassThrough();
      stream.on("data", (chunk) => (log += chunk));
      const app = await appWith(DEFAULT_DEADLINES, { stream });
      await app.listen({ port: 0, host: "127.0.0.1" });
      const port = (app.server.address() as { port: number }).port;
      const query = chain(10, 2);
      const lines = () =>
        log
          .trim()
          .split("\n")
          .filter(Boolean)
          .map((line) => JSON.parse(line))
          .filter((line) => line.msg === "request");

      // The whole chain, answered: its statements.
      const full = await post(app, query);
      expect(full.status).toBe(200);
      expect(full.statements).toBeGreaterThanOrEqual(11);
      const answered = lines().length;

      const body = JSON.stringify({ query });
      const socket = connect(port, "127.0.0.1");
      await new Promise<void>((resolve) => socket.once("connect", resolve));
      const before = store.statements();
      socket.write(
        `POST /graphql HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n` +
          `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
      let received = "";
      socket.on("data", (chunk) => (received += chunk));
      // After the first statement, the client hangs up.
      while (store.statements() === before) await new Promise((resolve) => setImmediate(resolve));
      socket.destroy();
      const deadline = Date.now() + 10_000;
      while (lines().length === answered && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      const line = lines()[answered];
      expect(line).toMatchObject({ path: "/graphql", status: 499, code: "CLIENT_CLOSED" });
      expect(line.statements).toBeLessThan(full.statements / 2);
      const sent = store.statements() - before;
      expect(sent).toBe(line.statements);
      // Nothing more is sent afterwards, and nothing reached the client.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(store.statements() - before).toBe(sent);
      expect(received).toBe("");
      // GET /metrics counts it too (Fastify's onResponse, where metrics are taken, never ran).
      const metrics = (await app.inject({ method: "GET", url: "/metrics" })).body;
      expect(metrics).toMatch(
        /^trailgraph_http_request_duration_seconds_count\{route="\/graphql",operation="anonymous",status="499"\} 1$/m,
      );
      expect(metrics).toMatch(/^trailgraph_refused_operations_total\{reason="CLIENT_CLOSED"\} 1$/m);
    },
  );
});
