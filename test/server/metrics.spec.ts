/**
 * GET /metrics: Prometheus figures of requests, errors, refusals, SQL, the pool, POST /ingest
 * and the process, in a registry of each app's own; who may read them; the bound on operation
 * names; and, under `serve --workers N`, the whole service's figures from any worker.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import type { GraphQLSchema } from "graphql";
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authSettings, OPEN } from "../../src/auth/settings";
import { statementCounter } from "../../src/db/datasource";
import { buildTrailGraphSchema } from "../../src/schema/build";
import { createApp, type AppOptions } from "../../src/server/app";
import { costLimitSettings } from "../../src/server/cost-limits";
import { MAX_OPERATION_LABELS, metricsSettings } from "../../src/server/metrics";
import { requireBuiltCli, runCli, serve } from "../support/cli";
import { jsonLines, samples } from "../support/delivery";
import { buildEvent } from "../support/event-builder";
import { openTestStore, type TestStore } from "../support/harness";
import { storesUnderTest } from "../support/stores";

const SECRET = "a-shared-secret-of-at-least-32-bytes-for-the-metrics-tests";
const METRICS_TOKEN = "a-metrics-token-for-the-metrics-tests";
const INGEST_TOKEN = "an-ingest-token-for-the-metrics-tests";

function jwt(accounts: string[] | "*"): Promise<string> {
  return new SignJWT({ sub: "metrics-test", accounts, exp: Math.floor(Date.now() / 1000) + 300 })
    .setProtectedHeader({ alg: "HS256" })
    .sign(new TextEncoder().encode(SECRET));
}

interface Sample {
  labels: Record<string, string>;
  value: number;
}

/** The samples of one metric in Prometheus' text format. */
function samplesOf(text: string, name: string): Sample[] {
  const found: Sample[] = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const match = /^[^{ ]+(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not a sample: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[1] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[key!] = value!;
    found.push({ labels, value: match[2] === "+Inf" ? Infinity : Number(match[2]) });
  }
  return found;
}

/** The sum of a metric's samples whose labels include `labels`. */
function total(text: string, name: string, labels: Record<string, string> = {}): number {
  return samplesOf(text, name)
    .filter((sample) => Object.entries(labels).every(([key, value]) => sample.labels[key] === value))
    .reduce((sum, sample) => sum + sample.value, 0);
}

describe.each(storesUnderTest())("GET /metrics ($kind)", ({ kind, available }) => {
  let store: TestStore;
  let schema: GraphQLSchema;
  const apps: FastifyInstance[] = [];
  const app = async (options: Partial<AppOptions> = {}) => {
    const created = await createApp({
      dataSource: store.dataSource,
      schema,
      auth: OPEN,
      metrics: { enabled: true, token: null },
      ...options,
    });
    apps.push(created);
    return created;
  };
  beforeAll(async () => {
    if (!available) return;
    store = await openTestStore(kind);
    await store.ingestEvents(samples);
    schema = await buildTrailGraphSchema();
  });
  afterAll(async () => {
    for (const created of apps) await created.close();
    await store?.close();
  });

  const post = (target: FastifyInstance, query: string, headers: Record<string, string> = {}) =>
    target.inject({
      method: "POST",
      url: "/graphql",
      headers: { "content-type": "application/json", ...headers },
      payload: { query },
    });
  const scrape = async (target: FastifyInstance, headers: Record<string, string> = {}) => {
    const response = await target.inject({ method: "GET", url: "/metrics", headers });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.headers["content-type"]).toMatch(/^text\/plain; version=0\.0\.4/);
    return response.body;
  };

  it.skipIf(!available)(
    "requests by route, operation and status; SQL statements and their time; the pool; the process",
    async () => {
      const server = await app();
      for (let run = 0; run < 3; run++) {
        const answer = await post(server, "query Recent { events(first: 5) { nodes { eventId eventName } } }");
        expect(answer.statusCode, answer.body).toBe(200);
      }
      expect((await post(server, "{ accounts { totalCount } }")).statusCode).toBe(200);
      expect((await server.inject({ method: "GET", url: "/health" })).statusCode).toBe(200);
      expect((await server.inject({ method: "GET", url: "/nowhere" })).statusCode).toBe(404);
      const text = await scrape(server);
      const requests = "trailgraph_http_request_duration_seconds_count";
      expect(total(text, requests, { route: "/graphql", operation: "Recent", status: "200" })).toBe(3);
      expect(total(text, requests, { route: "/graphql", operation: "anonymous", status: "200" })).toBe(1);
      expect(total(text, requests, { route: "/health", operation: "", status: "200" })).toBe(1);
      expect(total(text, requests, { route: "unmatched", status: "404" })).toBe(1);
      expect(total(text, "trailgraph_http_request_duration_seconds_sum", { operation: "Recent" })).toBeGreaterThan(0);

      // A request's read statements: each counted, and each timed.
      const before = await scrape(server);
      const answer = await post(server, "query Recent { events(first: 5) { nodes { eventId eventName } } }");
      expect(answer.statusCode).toBe(200);
      const after = await scrape(server);
      const statements =
        total(after, "trailgraph_sql_statements_total") - total(before, "trailgraph_sql_statements_total");
      const timed =
        total(after, "trailgraph_sql_read_duration_seconds_count") -
        total(before, "trailgraph_sql_read_duration_seconds_count");
      expect(statements).toBeGreaterThan(0);
      expect(timed).toBe(statements);
      expect(total(after, "trailgraph_sql_read_duration_seconds_sum")).toBeGreaterThan(0);

      // The pool as it is when scraped: nothing runs now, nobody waits.
      const inUse = total(after, "trailgraph_db_pool_connections", { state: "in_use" });
      const idle = total(after, "trailgraph_db_pool_connections", { state: "idle" });
      expect(inUse).toBe(0);
      if (kind === "sqlite") expect(idle).toBe(1);
      else expect(idle).toBeGreaterThanOrEqual(1);
      expect(total(after, "trailgraph_db_pool_waiting_requests")).toBe(0);

      // The process, from prom-client's default metrics.
      expect(total(after, "process_cpu_user_seconds_total")).toBeGreaterThan(0);
      expect(total(after, "nodejs_heap_size_used_bytes")).toBeGreaterThan(0);
    },
  );

  it.skipIf(!available || kind !== "mysql")("the pool's figures while statements wait for a connection", async () => {
    const server = await app();
    // More concurrent statements than the pool has connections: some of them wait.
    const size = (store.dataSource.options as { poolSize?: number }).poolSize ?? 10;
    const sleeping = Array.from({ length: size + 3 }, () => store.dataSource.query("SELECT SLEEP(1)"));
    try {
      await new Promise((resolve) => setTimeout(resolve, 300));
      const text = await scrape(server);
      expect(total(text, "trailgraph_db_pool_connections", { state: "in_use" })).toBe(size);
      expect(total(text, "trailgraph_db_pool_waiting_requests")).toBe(3);
    } finally {
      await Promise.all(sleeping);
    }
  });

  it.skipIf(!available)(
    `operation names past the first ${MAX_OPERATION_LABELS} are 'other': a client cannot grow the registry`,
    async () => {
      const server = await app();
      const series = (text: string) => samplesOf(text, "trailgraph_http_request_duration_seconds_count").length;
      // A long name is 'other', even as the first name.
      expect((await post(server, `query ${"L".repeat(150)} { __typename }`)).statusCode).toBe(200);
      for (let n = 0; n < MAX_OPERATION_LABELS + 20; n++) {
        expect((await post(server, `query Name${n} { __typename }`)).statusCode).toBe(200);
      }
      const text = await scrape(server);
      const names = new Set(
        samplesOf(text, "trailgraph_http_request_duration_seconds_count")
          .filter((sample) => sample.labels.route === "/graphql")
          .map((sample) => sample.labels.operation),
      );
      expect(names.size).toBe(MAX_OPERATION_LABELS + 1);
      expect(names.has("Name0") && names.has(`Name${MAX_OPERATION_LABELS - 1}`)).toBe(true);
      expect(names.has(`Name${MAX_OPERATION_LABELS}`)).toBe(false);
      expect(total(text, "trailgraph_http_request_duration_seconds_count", { operation: "other" })).toBe(21);
      // Another 300 names: not one more series, nor a longer scrape.
      for (let n = 0; n < 300; n++) await post(server, `query More${n} { __typename }`);
      const later = await scrape(server);
      expect(series(later)).toBe(series(await scrape(server)));
      expect(series(later)).toBe(series(text) + 1); // the scrape's own route, /metrics, seen since
      expect(total(later, "trailgraph_http_request_duration_seconds_count", { operation: "other" })).toBe(321);
    },
  );

  it.skipIf(!available)("GraphQL errors by code; refused operations by reason", async () => {
    const server = await app({
      auth: authSettings({ TRAILGRAPH_JWT_SECRET: SECRET }),
      cost: costLimitSettings({ TRAILGRAPH_MAX_DEPTH: "3" }),
      metrics: { enabled: true, token: METRICS_TOKEN },
    });
    const bearer = { authorization: `Bearer ${await jwt("*")}` };
    const read = () => scrape(server, { authorization: `Bearer ${METRICS_TOKEN}` });
    const start = await read();
    // Every reason is there before the first refusal.
    expect(samplesOf(start, "trailgraph_refused_operations_total").map((sample) => sample.labels.reason)).toContain(
      "OPERATION_TOO_DEEP",
    );
    expect(total(start, "trailgraph_refused_operations_total")).toBe(0);

    expect((await post(server, "{ accounts { totalCount } }")).statusCode).toBe(401); // no credential
    expect((await post(server, "{ accounts { totalCount } }", { authorization: "Bearer nonsense" })).statusCode).toBe(
      401,
    );
    const deep = "{ events(first: 1) { nodes { userIdentity { account { events(first: 1) { totalCount } } } } } }";
    const refused = await post(server, deep, bearer);
    expect(JSON.parse(refused.body).errors[0].extensions.code).toBe("OPERATION_TOO_DEEP");
    const invalid = await post(server, "{ noSuchField }", bearer);
    expect(JSON.parse(invalid.body).errors[0].extensions.code).toBe("GRAPHQL_VALIDATION_FAILED");
    const twoErrors = await post(server, "{ noSuchField alsoNot }", bearer);
    expect(JSON.parse(twoErrors.body).errors).toHaveLength(2);

    const text = await read();
    expect(total(text, "trailgraph_refused_operations_total", { reason: "UNAUTHENTICATED" })).toBe(2);
    expect(total(text, "trailgraph_refused_operations_total", { reason: "OPERATION_TOO_DEEP" })).toBe(1);
    expect(total(text, "trailgraph_refused_operations_total")).toBe(3);
    expect(total(text, "trailgraph_graphql_errors_total", { code: "UNAUTHENTICATED" })).toBe(2);
    expect(total(text, "trailgraph_graphql_errors_total", { code: "OPERATION_TOO_DEEP" })).toBe(1);
    expect(total(text, "trailgraph_graphql_errors_total", { code: "GRAPHQL_VALIDATION_FAILED" })).toBe(3);
    expect(total(text, "trailgraph_http_request_duration_seconds_count", { status: "401" })).toBe(2);
  });

  it.skipIf(!available)("who may read: credentials for every account or the metrics token; off: 404", async () => {
    const server = await app({
      auth: authSettings({ TRAILGRAPH_JWT_SECRET: SECRET }),
      metrics: { enabled: true, token: METRICS_TOKEN },
    });
    const get = (authorization?: string) =>
      server.inject({ method: "GET", url: "/metrics", headers: authorization ? { authorization } : {} });
    const refusal = (response: Awaited<ReturnType<typeof get>>) => {
      expect(response.headers["content-type"]).toMatch(/^application\/json/);
      expect(response.body).not.toMatch(/trailgraph_|process_/);
      return JSON.parse(response.body).errors[0];
    };

    const none = await get();
    expect(none.statusCode).toBe(401);
    expect(none.headers["www-authenticate"]).toBe('Bearer realm="trailgraph"');
    expect(refusal(none).extensions.code).toBe("UNAUTHENTICATED");
    const wrongToken = await get(`Bearer ${METRICS_TOKEN}x`);
    expect(wrongToken.statusCode).toBe(401);
    expect(refusal(wrongToken).extensions.code).toBe("UNAUTHENTICATED");
    const someAccounts = await get(`Bearer ${await jwt(["151266687691****"])}`);
    expect(someAccounts.statusCode).toBe(403);
    const forbidden = refusal(someAccounts);
    expect(forbidden.extensions.code).toBe("FORBIDDEN");
    expect(forbidden.message).toMatch(/GET \/metrics needs a credential for every account/);

    expect((await get(`Bearer ${await jwt("*")}`)).statusCode).toBe(200);
    expect((await get(`Bearer ${METRICS_TOKEN}`)).statusCode).toBe(200);

    // Open mode: anyone who reaches the port.
    expect((await (await app()).inject({ method: "GET", url: "/metrics" })).statusCode).toBe(200);
    // Off: no endpoint.
    const off = await app({ metrics: { enabled: false, token: null } });
    expect((await off.inject({ method: "GET", url: "/metrics" })).statusCode).toBe(404);
  });

  it.skipIf(!available)("a closed app no longer times its store's reads (the store outlives it)", async () => {
    const server = await createApp({
      dataSource: store.dataSource,
      schema,
      auth: OPEN,
      metrics: { enabled: true, token: null },
    });
    expect(statementCounter(store.dataSource).onRead).toEqual(expect.any(Function));
    await server.close();
    expect(statementCounter(store.dataSource).onRead).toBeNull();
  });

  it.skipIf(!available)(
    "POST /ingest: records read, inserted, rejected, duplicates, files; the newest event's age",
    async () => {
      const server = await app({ ingest: { token: INGEST_TOKEN, maxBytes: 10 * 1024 * 1024 } });
      const before = await scrape(server);
      expect(total(before, "trailgraph_ingest_newest_event_age_seconds")).toBe(Infinity);
      const push = (body: string) =>
        server.inject({
          method: "POST",
          url: "/ingest",
          headers: { authorization: `Bearer ${INGEST_TOKEN}`, "content-type": "application/x-ndjson" },
          payload: body,
        });
      // The samples are stored already: all duplicates.
      expect((await push(jsonLines(samples))).statusCode).toBe(200);
      const fresh = buildEvent({ eventTime: new Date(Date.now() - 600_000) });
      const older = buildEvent({ eventTime: new Date(Date.now() - 3_600_000) });
      expect((await push(jsonLines([fresh, older, { eventId: "not an event" }]))).statusCode).toBe(422);
      const text = await scrape(server);
      expect(total(text, "trailgraph_ingest_files_total")).toBe(2);
      expect(total(text, "trailgraph_ingest_records_read_total")).toBe(samples.length + 3);
      expect(total(text, "trailgraph_ingest_records_duplicate_total")).toBe(samples.length);
      expect(total(text, "trailgraph_ingest_records_inserted_total")).toBe(2);
      expect(total(text, "trailgraph_ingest_records_rejected_total")).toBe(1);
      const age = total(text, "trailgraph_ingest_newest_event_age_seconds");
      expect(age).toBeGreaterThanOrEqual(600);
      expect(age).toBeLessThan(660);
    },
  );
});

describe("metrics settings", () => {
  it("TRAILGRAPH_METRICS and TRAILGRAPH_METRICS_TOKEN: defaults, and clear errors naming the variable", () => {
    expect(metricsSettings({})).toEqual({ enabled: true, token: null });
    expect(metricsSettings({ TRAILGRAPH_METRICS: "off" })).toEqual({ enabled: false, token: null });
    expect(metricsSettings({ TRAILGRAPH_METRICS_TOKEN: METRICS_TOKEN }).token).toBe(METRICS_TOKEN);
    expect(() => metricsSettings({ TRAILGRAPH_METRICS: "sometimes" })).toThrow(
      "TRAILGRAPH_METRICS 'sometimes' is neither on nor off.",
    );
    expect(() => metricsSettings({ TRAILGRAPH_METRICS_TOKEN: "short" })).toThrow(
      /TRAILGRAPH_METRICS_TOKEN is shorter than 16 characters/,
    );
  });
});

/** A GET or POST on a connection of its own (the primary hands each new connection to the next worker). */
function onNewConnection(url: string, method: "GET" | "POST", body?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      url,
      { method, agent: false, headers: body ? { "content-type": "application/json" } : {} },
      (response) => {
        let text = "";
        response.on("data", (chunk: Buffer) => (text += chunk.toString("utf8")));
        response.on("end", () => resolve(text));
      },
    );
    request.on("error", reject);
    request.end(body);
  });
}

describe.skipIf(process.platform !== "linux")("GET /metrics under serve --workers", () => {
  let dir: string;
  beforeAll(async () => {
    requireBuiltCli();
    dir = await mkdtemp(join(tmpdir(), "trailgraph-metrics-"));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it("serve refuses a bad TRAILGRAPH_METRICS, TRAILGRAPH_METRICS_TOKEN or TRAILGRAPH_COMPRESSION, naming it", async () => {
    for (const [env, message] of [
      [{ TRAILGRAPH_METRICS: "maybe" }, "TRAILGRAPH_METRICS 'maybe' is neither on nor off."],
      [{ TRAILGRAPH_METRICS_TOKEN: "short" }, "TRAILGRAPH_METRICS_TOKEN is shorter than 16 characters"],
      [{ TRAILGRAPH_COMPRESSION: "fast" }, "TRAILGRAPH_COMPRESSION 'fast' is neither on nor off."],
    ] as const) {
      const run = await runCli(["serve", "--port", "0", "--workers", "2"], {
        cwd: dir,
        databaseUrl: `sqlite:${join(dir, "refused.sqlite")}`,
        env,
      });
      expect(run.code).not.toBe(0);
      expect(run.stderr).toContain(message);
      expect(run.stderr).not.toContain("GraphQL API at");
    }
  });

  it("any worker answers the whole service's figures", async () => {
    const server = await serve({
      cwd: dir,
      databaseUrl: `sqlite:${join(dir, "workers.sqlite")}`,
      args: ["--workers", "2"],
      env: { TRAILGRAPH_LOG_REQUESTS: "off" },
    });
    try {
      const metricsUrl = server.url.replace(/\/graphql$/, "/metrics");
      const query = JSON.stringify({ query: "query Counted { events { totalCount } }" });
      for (let n = 0; n < 20; n++) {
        expect(JSON.parse(await onNewConnection(server.url, "POST", query)).data.events.totalCount).toBe(0);
      }
      // Each scrape lands on the next worker: every one tells all 20.
      for (let scrape = 0; scrape < 4; scrape++) {
        const text = await onNewConnection(metricsUrl, "GET");
        expect(total(text, "trailgraph_http_request_duration_seconds_count", { operation: "Counted" }), text).toBe(20);
        expect(total(text, "trailgraph_db_pool_connections", { state: "idle" })).toBe(2);
      }
    } finally {
      expect((await server.stop()).code).toBe(0);
    }
  });
});
