/**
 * Query cost and limits (src/server/cost.ts, src/server/cost-limits.ts) over the real HTTP app:
 * what the defaults let through and what they refuse, each limit on its own, refusals that send
 * no SQL on graphql-js and on the compiled path, `extensions.cost`, and each client's budget.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { parse, type GraphQLSchema } from "graphql";
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { authSettings, SettingsError, type AuthSettings } from "../../src/auth/settings";
import { buildTrailGraphSchema } from "../../src/schema/build";
import { createApp } from "../../src/server/app";
import { operationCost } from "../../src/server/cost";
import {
  costLimitSettings,
  DEFAULT_COST_LIMITS,
  NO_COST_LIMITS,
  type CostLimitSettings,
} from "../../src/server/cost-limits";
import { COMPILE_AFTER } from "../../src/server/executor";
import { OPERATIONS } from "../../bench/operations";
import { requireBuiltCli, runCli, serve } from "../support/cli";
import { openTestStore, type TestStore } from "../support/harness";
import { ABUSIVE, legitimateQueries, type Shape } from "../support/query-shapes";

/** Runs of graphql-jit's compiled queries: proof that an answer came from the compiled path. */
const compiled = vi.hoisted(() => ({ runs: 0 }));
vi.mock("graphql-jit", async (importOriginal) => {
  const jit = await importOriginal<typeof import("graphql-jit")>();
  return {
    ...jit,
    compileQuery: (...args: Parameters<typeof jit.compileQuery>) => {
      const result: any = jit.compileQuery(...args);
      if (jit.isCompiledQuery(result)) {
        const query = result.query;
        result.query = (...run: Parameters<typeof query>) => {
          compiled.runs++;
          return query.apply(result, run);
        };
      }
      return result;
    },
  };
});

const samples = JSON.parse(readFileSync("samples/events.json", "utf8")) as unknown[];
const SECRET = "a-shared-secret-of-at-least-32-bytes-for-tests";

let store: TestStore;
let schema: GraphQLSchema;
const apps: FastifyInstance[] = [];

beforeAll(async () => {
  store = await openTestStore("sqlite");
  await store.ingestEvents(samples);
  schema = await buildTrailGraphSchema();
});
afterAll(async () => {
  for (const app of apps) await app.close();
  await store?.close();
});

async function app(cost: CostLimitSettings, auth?: AuthSettings): Promise<FastifyInstance> {
  const created = await createApp({ dataSource: store.dataSource, schema, cost, ...(auth ? { auth } : {}) });
  apps.push(created);
  return created;
}

interface Answer {
  status: number;
  headers: Record<string, unknown>;
  body: any;
  /** SQL statements the request sent. */
  statements: number;
}

async function post(
  server: FastifyInstance,
  query: string,
  variables?: Record<string, unknown>,
  { address, credential }: { address?: string; credential?: string } = {},
): Promise<Answer> {
  const before = store.statements();
  const response = await server.inject({
    method: "POST",
    url: "/graphql",
    headers: {
      "content-type": "application/json",
      ...(credential ? { authorization: `Bearer ${credential}` } : {}),
    },
    payload: JSON.stringify({ query, variables }),
    ...(address ? { remoteAddress: address } : {}),
  });
  return {
    status: response.statusCode,
    headers: response.headers,
    body: JSON.parse(response.body),
    statements: store.statements() - before,
  };
}

/** A refusal: the status, the code, no data, and no SQL sent. */
function expectRefused(answer: Answer, code: string, status = 400) {
  expect(answer.body.errors?.[0]?.extensions?.code, JSON.stringify(answer.body)).toBe(code);
  expect(answer.status).toBe(status);
  expect(answer.body.data).toBeUndefined();
  expect(answer.statements).toBe(0);
  return answer.body.errors[0] as { message: string; extensions: Record<string, unknown> };
}

const LIMIT_CODES = [
  "OPERATION_TOO_COSTLY",
  "OPERATION_TOO_DEEP",
  "TOO_MANY_ALIASES",
  "TOO_MANY_DIRECTIVES",
  "TOO_MANY_REPEATS",
  "TOO_MANY_TOKENS",
  "RATE_LIMITED",
];

const costOf = (shape: Pick<Shape, "query" | "variables">) =>
  operationCost(schema, parse(shape.query), undefined, shape.variables)!.cost;

describe("the default limits", () => {
  it("let every query of the README, the schema's examples, GraphiQL, the benchmark and a dashboard through, at most half the limit", async () => {
    const server = await app(DEFAULT_COST_LIMITS);
    const shapes = legitimateQueries();
    expect(shapes.filter((shape) => shape.name.startsWith("README")).length).toBeGreaterThanOrEqual(3);
    for (const shape of shapes) {
      const answer = await post(server, shape.query, shape.variables);
      // Examples with placeholders (`node(id: "...")`) may answer a user error; none is a limit's.
      const codes = (answer.body.errors ?? []).map((error: any) => error.extensions.code);
      expect(
        codes.filter((code: string) => LIMIT_CODES.includes(code)),
        shape.name,
      ).toEqual([]);
      expect(answer.status).toBe(200);
      expect(answer.body.data, shape.name).toBeTruthy();
      const cost = answer.body.extensions.cost;
      expect(cost.requested, shape.name).toBe(costOf(shape));
      expect(cost.limit).toBe(DEFAULT_COST_LIMITS.maxCost);
      expect(cost.requested, shape.name).toBeLessThanOrEqual(DEFAULT_COST_LIMITS.maxCost! / 2);
      expect(cost.remaining).toBeGreaterThanOrEqual(0);
    }
  });

  it("price the benchmark's operations as its raw limit server reports them", () => {
    for (const op of OPERATIONS) expect(costOf(op), op.title).toBe(op.cost);
  });

  it.each(ABUSIVE.map((shape) => [shape.name, shape] as const))("refuse %s, saying why", async (_name, shape) => {
    const error = expectRefused(await post(await app(DEFAULT_COST_LIMITS), shape.query), shape.code);
    if (shape.field) expect(error.extensions.field).toBe(shape.field);
    expect(error.extensions.limit).toBeTypeOf("number");
  });

  it("refuse each abusive shape by cost alone, too, and the aliases by their number", async () => {
    const costOnly = await app({ ...NO_COST_LIMITS, maxCost: DEFAULT_COST_LIMITS.maxCost });
    for (const shape of ABUSIVE) {
      const error = expectRefused(await post(costOnly, shape.query), "OPERATION_TOO_COSTLY");
      expect(error.extensions.cost).toBe(costOf(shape));
      expect(error.extensions.limit).toBe(DEFAULT_COST_LIMITS.maxCost);
      expect(error.message).toMatch(/^This operation costs [\d,]+, more than the limit of 10,000; `[^`]+` makes most/);
    }
    const [fiveLevels, , thousandAliases] = ABUSIVE;
    expect(expectRefused(await post(costOnly, fiveLevels.query), "OPERATION_TOO_COSTLY").extensions.field).toBe(
      "event" + ".account.events.nodes".repeat(5),
    );
    const aliases = await app({ ...DEFAULT_COST_LIMITS, maxTokens: null });
    const error = expectRefused(await post(aliases, thousandAliases.query), "TOO_MANY_ALIASES");
    expect(error.extensions).toMatchObject({ aliases: 1000, limit: 100, field: "events" });
  });
});

describe("each limit", () => {
  const limits: CostLimitSettings = {
    maxCost: 100,
    maxDepth: 4,
    maxAliases: 3,
    maxDirectives: 2,
    maxRepeats: 2,
    maxTokens: 40,
    budget: null,
  };
  /** 19 tokens and one per name. */
  const names = (count: number) =>
    `{ events(first: 1, filter: { eventNames: [${Array.from({ length: count }, (_, i) => `"e${i}"`).join(" ")}] }) { totalCount } }`;
  let server: FastifyInstance;
  beforeAll(async () => {
    server = await app(limits);
  });

  const cases: Array<[limit: string, code: string, within: string, beyond: string, extensions: object]> = [
    [
      "cost",
      "OPERATION_TOO_COSTLY",
      "{ events(first: 99) { nodes { eventId } } }",
      "{ events(first: 100) { nodes { eventId } } }",
      { cost: 101, limit: 100, field: "events.nodes" },
    ],
    [
      "depth",
      "OPERATION_TOO_DEEP",
      "{ events(first: 1) { nodes { account { accountId } } } }",
      "{ events(first: 1) { nodes { account { orders(first: 1) { totalCount } } } } }",
      { depth: 5, limit: 4, field: "events.nodes.account.orders.totalCount" },
    ],
    [
      "aliases",
      "TOO_MANY_ALIASES",
      "{ a: events(first: 1) { totalCount } b: events(first: 2) { totalCount } c: accounts { totalCount } }",
      "{ a: events(first: 1) { totalCount } b: events(first: 2) { totalCount } c: accounts { totalCount } d: __typename }",
      { aliases: 4, limit: 3, field: "events" },
    ],
    [
      "directives",
      "TOO_MANY_DIRECTIVES",
      "{ events(first: 1) @include(if: true) { totalCount @skip(if: false) } }",
      "{ events(first: 1) @include(if: true) { totalCount @skip(if: false) @include(if: true) } }",
      { directives: 3, limit: 2, field: "events.totalCount" },
    ],
    [
      "repeats",
      "TOO_MANY_REPEATS",
      "{ events(first: 1) { totalCount totalCount } }",
      "{ events(first: 1) { totalCount totalCount totalCount } }",
      { repeats: 3, limit: 2, field: "events.totalCount" },
    ],
    ["tokens", "TOO_MANY_TOKENS", names(21), names(22), { limit: 40 }],
  ];

  it.each(cases)(
    "%s: lets an operation at the limit through, refuses one beyond it",
    async (limit, code, within, beyond, extensions) => {
      const passed = await post(server, within);
      expect(passed.body.errors, JSON.stringify(passed.body.errors)).toBeUndefined();
      expect(passed.status).toBe(200);
      const error = expectRefused(await post(server, beyond), code);
      expect(error.extensions).toMatchObject(extensions);
      // Off, it refuses nothing.
      const off = await app({ ...limits, [`max${limit[0].toUpperCase()}${limit.slice(1)}`]: null });
      expect((await post(off, beyond)).body.errors).toBeUndefined();
    },
  );

  it("are checked before validation: a document beyond one is refused for it, not validated", async () => {
    // graphql-js's validation is quadratic in repeated fields: this one must never reach it.
    const repeated = `{ events { ${"nodes { eventId } ".repeat(3)} } bogus }`;
    expect(expectRefused(await post(server, repeated), "TOO_MANY_REPEATS").extensions.field).toBe("events.nodes");
    const valid = await app({ ...limits, maxRepeats: null });
    expect((await post(valid, repeated)).body.errors[0].extensions.code).toBe("GRAPHQL_VALIDATION_FAILED");
  });

  it("are checked with the request's variables, and on GET requests", async () => {
    const query = "query ($n: Int) { events(first: $n) { nodes { eventId } } }";
    expect((await post(server, query, { n: 99 })).body.errors).toBeUndefined();
    expectRefused(await post(server, query, { n: 100 }), "OPERATION_TOO_COSTLY");
    const get = await server.inject({
      method: "GET",
      url: `/graphql?query=${encodeURIComponent(cases[5][3])}`,
      headers: { "apollo-require-preflight": "true" },
    });
    expect(get.statusCode).toBe(400);
    expect(JSON.parse(get.body).errors[0].extensions.code).toBe("TOO_MANY_TOKENS");
  });
});

describe("the compiled path", () => {
  it("answers with the cost, and refuses an operation it has compiled once its variables make it too costly", async () => {
    const server = await app(DEFAULT_COST_LIMITS);
    const query = `query Fan($n: Int) { accounts(first: $n) { nodes { accountId events(first: $n) { nodes { eventId } } } } }`;
    const runs = compiled.runs;
    const answers: Answer[] = [];
    for (let run = 1; run <= COMPILE_AFTER + 1; run++) answers.push(await post(server, query, { n: 3 }));
    // Runs COMPILE_AFTER and COMPILE_AFTER + 1 were answered by graphql-jit.
    expect(compiled.runs).toBe(runs + 2);
    for (const answer of answers) {
      expect(answer.body.errors).toBeUndefined();
      expect(answer.body.extensions.cost).toMatchObject({ requested: 1 + 3 * (1 + 1 + 3), limit: 10_000 });
    }
    expect(answers[COMPILE_AFTER].body.data).toEqual(answers[0].body.data);
    const error = expectRefused(await post(server, query, { n: 500 }), "OPERATION_TOO_COSTLY");
    expect(error.extensions).toMatchObject({ cost: 1 + 500 * (1 + 1 + 500), field: "accounts.nodes.events.nodes" });
    expect(compiled.runs).toBe(runs + 2);
    // The budget is checked there too: 40 a client, 4 an operation.
    const tight = await app({ ...DEFAULT_COST_LIMITS, maxCost: 40, budget: { perSecond: 1, burst: 40 } });
    const before = compiled.runs;
    let passed = 0;
    let spent: Answer | undefined;
    for (let run = 0; run < 20 && !spent; run++) {
      const answer = await post(tight, query, { n: 1 }, { address: "10.0.0.1" });
      if (answer.status === 429) spent = answer;
      else if (answer.body.errors === undefined) passed++;
    }
    expect(passed).toBe(10);
    expectRefused(spent!, "RATE_LIMITED", 429);
    // Every run that passed from the COMPILE_AFTER-th on was compiled; the refused one never ran.
    expect(compiled.runs).toBe(before + passed - (COMPILE_AFTER - 1));
  });
});

describe("each client's budget", () => {
  const QUERY = "{ events(first: 99) { nodes { eventId } } }"; // costs 100
  const limits: CostLimitSettings = { ...DEFAULT_COST_LIMITS, maxCost: 100, budget: { perSecond: 1, burst: 300 } };

  it("is spent by each operation's cost, then answers 429 with Retry-After until it refills; others keep theirs", async () => {
    const server = await app(limits);
    const remaining = [];
    for (let run = 0; run < 3; run++) {
      const answer = await post(server, QUERY, undefined, { address: "192.0.2.1" });
      expect(answer.body.errors).toBeUndefined();
      remaining.push(answer.body.extensions.cost.remaining);
    }
    // The bucket refills at 1 a second while the test runs: at least what was left.
    expect(remaining[0]).toBeGreaterThanOrEqual(200);
    expect(remaining[2]).toBeLessThan(100);
    const spent = await post(server, QUERY, undefined, { address: "192.0.2.1" });
    const error = expectRefused(spent, "RATE_LIMITED", 429);
    const retryAfter = Number(spent.headers["retry-after"]);
    expect(retryAfter).toBeGreaterThan(1);
    expect(retryAfter).toBeLessThanOrEqual(100);
    expect(error.extensions).toMatchObject({ cost: 100, retryAfter });
    expect(error.message).toMatch(
      /budget is spent: the operation costs 100 and \d+ remain \(1 a second, at most 300\)/,
    );
    // Another address: another client, with its whole budget.
    expect((await post(server, QUERY, undefined, { address: "192.0.2.2" })).body.extensions.cost.remaining).toBe(200);
  });

  it("is per credential when requests carry one, whatever their address", async () => {
    const server = await app(limits, authSettings({ TRAILGRAPH_JWT_SECRET: SECRET }));
    const token = (sub: string) =>
      new SignJWT({ sub, accounts: "*", exp: Math.floor(Date.now() / 1000) + 300 })
        .setProtectedHeader({ alg: "HS256" })
        .sign(new TextEncoder().encode(SECRET));
    const [greedy, patient] = [await token("greedy"), await token("patient")];
    let refused = 0;
    for (let run = 0; run < 4; run++) {
      const answer = await post(server, QUERY, undefined, { credential: greedy, address: `198.51.100.${run}` });
      if (answer.status === 429) refused++;
    }
    expect(refused).toBe(1);
    const other = await post(server, QUERY, undefined, { credential: patient, address: "198.51.100.0" });
    expect(other.body.errors).toBeUndefined();
    expect(other.body.extensions.cost.remaining).toBe(200);
  });

  it("caps one operation: more than a bucket holds never runs", async () => {
    const server = await app({ ...limits, maxCost: null });
    const error = expectRefused(
      await post(server, "{ events(first: 300) { nodes { eventId } } }"),
      "OPERATION_TOO_COSTLY",
    );
    expect(error.extensions).toMatchObject({ cost: 301, limit: 300 });
    expect((await post(server, "{ events(first: 298) { nodes { eventId } } }")).body.extensions.cost).toEqual({
      requested: 299,
      limit: 300,
      remaining: 1,
    });
  });
});

describe("settings", () => {
  it("come from the environment; 0 and off turn a limit off; bad values are refused, naming the variable", () => {
    expect(costLimitSettings({})).toEqual(DEFAULT_COST_LIMITS);
    expect(
      costLimitSettings({
        TRAILGRAPH_MAX_COST: "off",
        TRAILGRAPH_MAX_DEPTH: "0",
        TRAILGRAPH_MAX_ALIASES: " 7 ",
        TRAILGRAPH_MAX_DIRECTIVES: "OFF",
        TRAILGRAPH_MAX_REPEATS: "3",
        TRAILGRAPH_MAX_TOKENS: "900",
        TRAILGRAPH_COST_PER_SECOND: "50",
      }),
    ).toEqual({
      maxCost: null,
      maxDepth: null,
      maxAliases: 7,
      maxDirectives: null,
      maxRepeats: 3,
      maxTokens: 900,
      budget: { perSecond: 50, burst: 250 },
    });
    // The default burst holds at least one operation of the largest cost.
    expect(costLimitSettings({ TRAILGRAPH_COST_PER_SECOND: "100" }).budget).toEqual({ perSecond: 100, burst: 10_000 });
    expect(costLimitSettings({ TRAILGRAPH_COST_PER_SECOND: "off" }).budget).toBeNull();
    expect(() => costLimitSettings({ TRAILGRAPH_MAX_DEPTH: "deep" })).toThrow(
      new SettingsError("TRAILGRAPH_MAX_DEPTH 'deep' is neither a whole number nor off."),
    );
    expect(() => costLimitSettings({ TRAILGRAPH_MAX_COST: "1e4" })).toThrow(/TRAILGRAPH_MAX_COST '1e4'/);
    expect(() => costLimitSettings({ TRAILGRAPH_COST_BURST: "5000" })).toThrow(
      /TRAILGRAPH_COST_BURST \(5000\) is less than TRAILGRAPH_MAX_COST \(10000\)/,
    );
    expect(() => costLimitSettings({ TRAILGRAPH_COST_PER_SECOND: "off", TRAILGRAPH_COST_BURST: "5000" })).toThrow(
      /TRAILGRAPH_COST_BURST is set but TRAILGRAPH_COST_PER_SECOND is off/,
    );
  });

  describe("through `trailgraph serve`", () => {
    let dir: string;
    beforeAll(async () => {
      requireBuiltCli();
      dir = await mkdtemp(join(tmpdir(), "trailgraph-cost-"));
    });
    afterAll(async () => {
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it("refuses to start on a bad value, naming it", async () => {
      const run = await runCli(["serve", "--port", "0"], {
        cwd: dir,
        databaseUrl: `sqlite:${join(dir, "bad.sqlite")}`,
        env: { TRAILGRAPH_COST_PER_SECOND: "fast" },
      });
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/TRAILGRAPH_COST_PER_SECOND 'fast' is neither a whole number nor off/);
      expect(run.stderr).not.toMatch(/GraphQL API at/);
    });

    it("says its limits, and answers 429 with Retry-After over HTTP once a client's budget is spent", async () => {
      const server = await serve({
        cwd: dir,
        databaseUrl: `sqlite:${join(dir, "served.sqlite")}`,
        env: { TRAILGRAPH_MAX_COST: "100", TRAILGRAPH_COST_PER_SECOND: "1", TRAILGRAPH_COST_BURST: "150" },
      });
      try {
        await expect
          .poll(server.log)
          .toMatch(
            /query limits: cost 100, depth 15, aliases 100, directives 50, repeats 20, tokens 5,000; each client may spend 1 a second, 150 at once \(per process\)/,
          );
        const ask = () =>
          fetch(server.url, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ query: "{ events(first: 99) { nodes { eventId } } }" }),
          });
        const first = await ask();
        expect(first.status).toBe(200);
        expect(((await first.json()) as any).extensions.cost).toMatchObject({ requested: 100, limit: 100 });
        const second = await ask();
        expect(second.status).toBe(429);
        expect(Number(second.headers.get("retry-after"))).toBeGreaterThan(0);
        expect(((await second.json()) as any).errors[0].extensions.code).toBe("RATE_LIMITED");
      } finally {
        await server.stop();
      }
    });
  });
});
