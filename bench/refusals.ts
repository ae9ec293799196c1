/**
 * `npx tsx bench/refusals.ts [--runs 200]`: how long the server takes to refuse each abusive
 * shape of test/support/query-shapes.ts with the default limits (src/server/cost-limits.ts),
 * through the real app (Fastify's inject: request parsing, authentication, Apollo, the answer),
 * and how many SQL statements that sends (none). Also the time of a small accepted query, for
 * scale. An embedded store in a temporary folder; prints a table.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { statementCounter, storeConfig } from "../src/db/datasource";
import { openStore } from "../src/db/open";
import { buildTrailGraphSchema } from "../src/schema/build";
import { createApp } from "../src/server/app";
import { DEFAULT_COST_LIMITS } from "../src/server/cost-limits";
import { ABUSIVE } from "../test/support/query-shapes";

async function main() {
  const { values } = parseArgs({ options: { runs: { type: "string", default: "200" } } });
  const runs = Number(values.runs);
  const dir = mkdtempSync(join(tmpdir(), "trailgraph-refusals-"));
  const store = await openStore(storeConfig(`sqlite:${join(dir, "store.sqlite")}`), { migrate: true });
  const counter = statementCounter(store.dataSource);
  // No budget: every run is refused by the operation limits, not by the client's spending.
  const app = await createApp({
    dataSource: store.dataSource,
    schema: await buildTrailGraphSchema(),
    cost: { ...DEFAULT_COST_LIMITS, budget: null },
  });
  const post = (query: string) =>
    app.inject({
      method: "POST",
      url: "/graphql",
      headers: { "content-type": "application/json" },
      payload: JSON.stringify({ query }),
    });
  const shapes = [
    ...ABUSIVE.map((shape) => ({ name: shape.name, query: shape.query })),
    {
      name: "(accepted, for scale) events(first: 5) { nodes { eventId } }",
      query: "{ events(first: 5) { nodes { eventId } } }",
    },
  ];
  console.log(`${runs} runs each after 20 of warm-up; ms per request: wall clock, and this process's CPU time`);
  console.log(["shape", "bytes", "status", "code", "median", "p99", "max", "CPU mean", "SQL"].join(" | "));
  for (const { name, query } of shapes) {
    for (let i = 0; i < 20; i++) await post(query);
    const times: number[] = [];
    const before = counter.count;
    let status = 0;
    let code = "";
    const cpu = process.cpuUsage();
    for (let i = 0; i < runs; i++) {
      const start = process.hrtime.bigint();
      const response = await post(query);
      times.push(Number(process.hrtime.bigint() - start) / 1e6);
      status = response.statusCode;
      code = JSON.parse(response.body).errors?.[0]?.extensions?.code ?? "";
    }
    const used = process.cpuUsage(cpu);
    const cpuMs = (used.user + used.system) / 1000 / runs;
    const statements = (counter.count - before) / runs;
    times.sort((a, b) => a - b);
    const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))].toFixed(2);
    console.log(
      [name, Buffer.byteLength(query), status, code, at(0.5), at(0.99), at(1), cpuMs.toFixed(2), statements].join(
        " | ",
      ),
    );
  }
  await app.close();
  await store.dataSource.destroy();
  rmSync(dir, { recursive: true, force: true });
}

void main();
