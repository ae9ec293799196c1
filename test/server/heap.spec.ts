/**
 * One process's heap and the default limits: the costliest operations the cost limit lets
 * through, many at once, against the real server (`serve` as a child process) started with a
 * small heap (--max-old-space-size=256). The process survives and answers every one of them.
 */
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { storeConfig } from "../../src/db/datasource";
import { openStore } from "../../src/db/open";
import { ingest } from "../../src/ingest/ingest";
import { buildTrailGraphSchema } from "../../src/schema/build";
import { operationCost } from "../../src/server/cost";
import { DEFAULT_COST_LIMITS } from "../../src/server/cost-limits";
import { requireBuiltCli, runCli, serve } from "../support/cli";
import { buildEvent, ramUser } from "../support/event-builder";
import { arraySource } from "../support/harness";

const HEAP_MB = 256;

/** Whole events (every JSON column) with their identity and account. */
const EVENT = `eventId eventName eventTime eventType eventRW serviceName acsRegion sourceIpAddress userAgent
  errorCode errorMessage raw requestParameters responseElements additionalEventData
  userIdentity { type principalId userName accessKeyId } account { accountId }`;

/**
 * Shapes the cost limit lets through, each close to it: the widest single page, an identity's
 * events under each event of a page, and counts with pages under each identity.
 */
const SHAPES: Record<string, string> = {
  widestPage: `query WidestPage { events(first: 500) { totalCount nodes { ${EVENT} referencedResources { type resourceId } } } }`,
  nestedPages: `query NestedPages { events(first: 50) { nodes { eventId raw
      userIdentity { events(first: 60) { nodes { eventId raw requestParameters } } } } } }`,
  identities: `query Identities { accounts(first: 1) { nodes { identities(first: 30) { nodes { principalId
      events(first: 40) { totalCount nodes { ${EVENT} } } } } } } }`,
};

describe.skipIf(process.platform !== "linux")("heap under the default limits", () => {
  let dir: string;
  let url: string;
  beforeAll(async () => {
    requireBuiltCli();
    dir = await mkdtemp(join(tmpdir(), "trailgraph-heap-"));
    url = `sqlite:${join(dir, "store.sqlite")}`;
    const store = await openStore(storeConfig(url), { migrate: true });
    // 3,000 events of 30 identities, each with about 1 KB of request parameters.
    const events = Array.from({ length: 3_000 }, (_, n) =>
      buildEvent({
        userIdentity: ramUser(`user${n % 30}`),
        requestParameters: { RegionId: "cn-hangzhou", n, Description: `${n} `.repeat(1024 / String(n).length) },
      }),
    );
    await ingest(store.dataSource, [arraySource(events)]);
    await store.dataSource.destroy();
  }, 60_000);
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it("each shape costs close to the default limit", async () => {
    const schema = await buildTrailGraphSchema();
    for (const [name, query] of Object.entries(SHAPES)) {
      const cost = operationCost(schema, parse(query), null, {})!.cost;
      expect(cost, name).toBeLessThanOrEqual(DEFAULT_COST_LIMITS.maxCost!);
      expect(cost, name).toBeGreaterThan(DEFAULT_COST_LIMITS.maxCost! / 3);
    }
  });

  it(`${HEAP_MB} MB of heap: the costliest shapes, 12 at a time, are all answered`, async () => {
    const server = await serve({
      cwd: dir,
      databaseUrl: url,
      // The default limits but the per-client budget (one test client would spend it).
      env: { NODE_OPTIONS: `--max-old-space-size=${HEAP_MB}`, TRAILGRAPH_COST_PER_SECOND: "off" },
    });
    const pid = server.child.pid!;
    try {
      // Said after the address, once it listens.
      const limits =
        "request limits: deadline 15,000 ms, answer 67,108,864 bytes, rows read 100,000, list items answered 20,000";
      for (let wait = 0; wait < 100 && !server.log().includes(limits); wait++)
        await new Promise((resolve) => setTimeout(resolve, 50));
      expect(server.log()).toContain(limits);
      const queries = Object.values(SHAPES);
      for (let round = 0; round < 3; round++) {
        const answers = await Promise.all(
          Array.from({ length: 12 }, async (_, n) => {
            const response = await fetch(server.url, {
              method: "POST",
              headers: { "content-type": "application/json" },
              body: JSON.stringify({ query: queries[n % queries.length] }),
            });
            return { status: response.status, body: await response.text() };
          }),
        );
        for (const answer of answers) {
          expect(answer.status, answer.body.slice(0, 300)).toBe(200);
          expect(JSON.parse(answer.body).errors).toBeUndefined();
        }
      }
      // The process's peak resident memory (Linux), for the record.
      const peak = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1];
      console.log(`peak RSS of serve with --max-old-space-size=${HEAP_MB}: ${Math.round(Number(peak) / 1024)} MB`);
      expect(server.child.exitCode).toBeNull();
    } finally {
      const stopped = await server.stop();
      expect(stopped.code, `${JSON.stringify(stopped)} ${server.log().slice(-3000)}`).toBe(0);
    }
  }, 60_000);

  it("serve refuses a bad limit before it starts, naming the variable", async () => {
    const run = await runCli(["serve", "--port", "0"], {
      cwd: dir,
      databaseUrl: `sqlite:${join(dir, "refused.sqlite")}`,
      env: { TRAILGRAPH_REQUEST_TIMEOUT_MS: "15s" },
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("TRAILGRAPH_REQUEST_TIMEOUT_MS '15s' is neither a whole number");
    expect(run.stderr).not.toContain("GraphQL API at");
  });
});
