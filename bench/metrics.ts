/**
 * `npm run bench:metrics [-- flags]`: what GET /metrics' bookkeeping and compressed answers
 * cost on the request path. One SQLite store holding the bundled samples (67 events); one
 * `trailgraph serve` process per variant, all on that store:
 *
 *   off        TRAILGRAPH_METRICS=off, TRAILGRAPH_COMPRESSION=off
 *   metrics    metrics on, compression off
 *   on         metrics and compression on; the client sends `Accept-Encoding: gzip, br` (br wins)
 *   on-gzip    the same server; the client sends `Accept-Encoding: gzip`
 *
 * Two operations: a page of 50 events (13 KB of JSON: compressed) and a small query (one
 * total, below the 1 KiB threshold: never compressed). Per operation, load at --connections in
 * turns of --slice-seconds, each turn every variant once (bench/load.ts runAlternating), so
 * that whatever else the machine does falls on every variant alike. Figures: req/s, p50/p99 and
 * the server process's CPU per request. Needs `npm run build` (the script runs it).
 *
 *   --connections 8  --slices 4  --slice-seconds 2  --warmup 2
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { runCli, startTrailGraph, type Server } from "./children";
import { runAlternating, type LoadTarget } from "./load";

const { values } = parseArgs({
  options: {
    connections: { type: "string", default: "8" },
    slices: { type: "string", default: "4" },
    "slice-seconds": { type: "string", default: "2" },
    warmup: { type: "string", default: "2" },
  },
});
const connections = Number(values.connections);
const slices = Number(values.slices);
const sliceSeconds = Number(values["slice-seconds"]);
const warmup = Number(values.warmup);

const OPERATIONS = {
  page: "query Page { events(first: 50) { nodes { eventId eventName eventTime eventSource sourceIpAddress userAgent } } }",
  small: "query Small { events(first: 1) { totalCount } }",
};

const VARIANTS: Array<{ name: string; env: Record<string, string>; headers?: Record<string, string>; server: string }> =
  [
    { name: "off", env: { TRAILGRAPH_METRICS: "off", TRAILGRAPH_COMPRESSION: "off" }, server: "off" },
    { name: "metrics", env: { TRAILGRAPH_METRICS: "on", TRAILGRAPH_COMPRESSION: "off" }, server: "metrics" },
    {
      name: "on",
      env: { TRAILGRAPH_METRICS: "on", TRAILGRAPH_COMPRESSION: "on" },
      headers: { "accept-encoding": "gzip, br" },
      server: "on",
    },
    { name: "on-gzip", env: {}, headers: { "accept-encoding": "gzip" }, server: "on" },
  ];

async function main() {
  const dir = mkdtempSync(join(tmpdir(), "trailgraph-bench-metrics-"));
  const databaseUrl = `sqlite:${join(dir, "bench.sqlite")}`;
  const servers = new Map<string, Server>();
  try {
    await runCli(["ingest", "samples/events.json"], databaseUrl);
    for (const variant of VARIANTS) {
      if (servers.has(variant.server)) continue;
      Object.assign(process.env, variant.env);
      servers.set(variant.server, await startTrailGraph(databaseUrl));
    }
    const targets: LoadTarget[] = VARIANTS.map((variant) => {
      const server = servers.get(variant.server)!;
      return { url: server.url, measured: { server: server.pid }, headers: variant.headers };
    });
    const rows: string[] = [];
    for (const [name, query] of Object.entries(OPERATIONS)) {
      const bodies = [JSON.stringify({ query })];
      if (warmup > 0) await runAlternating(targets, bodies, connections, warmup * targets.length, targets.length);
      const results = await runAlternating(targets, bodies, connections, slices * sliceSeconds, slices);
      const base = results[0]!;
      for (const [index, result] of results.entries()) {
        if (result.errors + result.non2xx + result.graphqlErrors > 0) {
          throw new Error(`${name}/${VARIANTS[index]!.name}: ${result.firstError ?? "errors"}`);
        }
        rows.push(
          `| ${name} | ${VARIANTS[index]!.name} | ${result.requestsPerSecond.toFixed(0)} | ` +
            `${(result.requestsPerSecond / base.requestsPerSecond).toFixed(3)} | ${result.p50.toFixed(2)} | ` +
            `${result.p99.toFixed(2)} | ${result.serverCpuMs?.toFixed(3) ?? "-"} | ` +
            `${result.bytesPerResponse?.toFixed(0) ?? "-"} |`,
        );
      }
    }
    console.log(`connections ${connections}, ${slices} turns of ${sliceSeconds} s per variant and operation\n`);
    console.log("| operation | variant | req/s | vs off | p50 ms | p99 ms | server CPU ms/req | bytes/answer |");
    console.log("| --- | --- | --- | --- | --- | --- | --- | --- |");
    for (const row of rows) console.log(row);
  } finally {
    for (const server of servers.values()) await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
