/**
 * A small run of the benchmark harness (`npm run bench`, bench/harness.ts), so that it cannot
 * rot: two tiny datasets, 1-second load steps at 1 and 4 connections, one operation profiled,
 * "large" single files of 1 MB (1 GiB in the real run), the report written to a temp file. It
 * checks that every figure is there; it asserts no timing (the benchmark is a script, not a test).
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, inject, it } from "vitest";
import { runBenchmark, SETTLED_AT, type LoadPair } from "../bench/harness";
import { renderMarkdown, renderSummary } from "../bench/report";

const mysqlUrl = inject("mysqlUrl");

describe("npm run bench, smoke run", () => {
  if (!mysqlUrl) {
    it.skip("needs a MySQL-compatible server: install mariadb-server or set MYSQL_URL (inject('mysqlUrl') is null)", () => {});
    return;
  }

  // A whole benchmark, if a tiny one: about three minutes on a 2-core machine.
  it("measures ingest, the four operations, the statements, growth and targets, and writes the report", async () => {
    const report = await runBenchmark({
      sizes: [1500, 3000],
      accounts: 20,
      seed: 4,
      days: 3,
      duration: 1,
      warmup: 0,
      connections: [1, 4],
      mysqlUrl,
      profile: true,
      profileOperations: ["c"],
      variableSets: 200,
      bigFileBytes: 1024 * 1024,
    });

    expect(report.failures).toEqual([]);
    expect(report.sizes.map((size) => size.events)).toEqual([1500, 3000]);
    expect(report.focusConnections).toBe(4);
    expect(report.machine.cores).toBeGreaterThan(0);
    expect(report.database.version).not.toBe("");
    expect(report.versions["@apollo/server"]).toMatch(/^\d/);

    for (const size of report.sizes) {
      expect(size.dataset.files).toBeGreaterThan(0);
      expect(size.dataset.bytes).toBeGreaterThan(0);
      expect(size.dataset.tables.events).toBe(size.events);
      expect(size.dataset.rawTables.events).toBe(size.events);

      const ingest = size.ingest;
      expect(ingest.trailgraph.inserted).toBe(size.events);
      expect(ingest.trailgraph.eventsPerSecond).toBeGreaterThan(0);
      expect(ingest.trailgraph.peakRssBytes).toBeGreaterThan(0);
      // The CLI and the child it forks with a bounded heap both report; the larger one counts.
      expect(ingest.trailgraph.processes!.length).toBeGreaterThan(0);
      expect(ingest.trailgraph.peakRssBytes).toBe(Math.max(...ingest.trailgraph.processes!.map((p) => p.peakRssBytes)));
      expect(ingest.raw.events).toBe(size.events);
      expect(ingest.raw.eventsPerSecond).toBeGreaterThan(0);
      expect(ingest.raw.statements).toBeGreaterThan(0);
      expect(ingest.ratio).toBeGreaterThan(0);
      // The read steps start once the server has written out and purged what the ingests left.
      expect(size.settle!.settled).toBe(true);
      expect(size.settle!.dirtyPagesAfter).toBeLessThanOrEqual(SETTLED_AT);
      expect(size.settle!.historyAfter).toBeLessThanOrEqual(SETTLED_AT);
      expect(size.settle!.seconds).toBeGreaterThanOrEqual(0);

      expect(size.operations.map((op) => op.key)).toEqual(["a", "b", "c", "d"]);
      for (const op of size.operations) {
        // Statements counted on both sides; the raw server mirrors TrailGraph's statements.
        expect(op.statements.trailgraph).toBeGreaterThan(0);
        expect(op.statements.raw).toBe(op.statements.trailgraph);
        expect(op.runs.map((run) => run.connections)).toEqual([1, 4]);
        for (const run of op.runs) expectGoodRun(run);
      }
    }

    // Growth from its own steps, a server on each dataset taking turns.
    expect(report.growth.map((row) => [row.key, row.fromEvents, row.toEvents, row.connections])).toEqual(
      ["a", "b", "c", "d"].map((key) => [key, 1500, 3000, 4]),
    );
    for (const row of report.growth) {
      expect(row.p50From).toBeGreaterThan(0);
      expect(row.p50To).toBeGreaterThan(0);
      expect(row.ratio).toBeCloseTo(row.p50To / row.p50From, 10);
    }
    // One JSON lines file and one JSON array of the same events, each ingested whole.
    expect(report.bigFiles!.map((big) => big.format)).toEqual(["ndjson", "array"]);
    for (const big of report.bigFiles!) {
      expect(big.events).toBeGreaterThan(500);
      expect(big.events).toBe(report.bigFiles![0].events);
      expect(big.bytes).toBeGreaterThan(0.9 * 1024 * 1024);
      expect(big.bytes).toBeLessThan(1.1 * 1024 * 1024);
      expect(big.eventsPerSecond).toBeGreaterThan(0);
      expect(big.wallSeconds).toBeGreaterThan(0);
      expect(big.peakRssBytes).toBeGreaterThan(0);
    }

    // Targets: c (ratio, p99), a, b, ingest (ratio, RSS), RSS of the two large files, growth of
    // the four operations.
    expect(report.targetEvents).toBe(3000);
    expect(report.targets).toHaveLength(12);
    expect(report.targets.map((t) => t.target)).toEqual(
      expect.arrayContaining(["1 MB JSON lines: peak RSS < 300 MB", "1 MB JSON array: peak RSS < 300 MB"]),
    );

    // Plans and profiles at the largest size, the ingest profile at the smallest.
    const largest = report.sizes[1];
    expect(largest.explain.map((op) => op.key)).toEqual(["a", "b", "c", "d"]);
    for (const op of largest.explain) {
      expect(op.statements.length).toBeGreaterThan(0);
      for (const statement of op.statements) {
        expect(statement.plan.length).toBeGreaterThan(0);
        expect(statement.medianMs).toBeGreaterThan(0);
      }
    }
    expect(largest.profiles.map((p) => p.what)).toEqual(["c"]);
    expect(largest.profiles[0].summary.busyMs).toBeGreaterThan(0);
    expect(largest.profiles[0].summary.layers.length).toBeGreaterThan(0);
    expect(report.sizes[0].profiles.map((p) => p.what)).toEqual(["ingest"]);

    const dir = await mkdtemp(join(tmpdir(), "trailgraph-bench-smoke-"));
    try {
      const file = join(dir, "BENCHMARKS.md");
      await writeFile(file, renderMarkdown(report, { command: "npm run bench -- (smoke)", findings: "smoke run" }));
      const markdown = await readFile(file, "utf8");
      for (const heading of [
        "## Targets",
        "## Machine and versions",
        "## Dataset",
        "## Ingest",
        "### One large file",
        "## GraphQL over HTTP",
        "### 1,500 events",
        "### 3,000 events",
        "## Growth",
        "## Findings",
        "## CPU profiles",
        "## Query plans",
        "## The operations",
      ]) {
        expect(markdown).toContain(heading);
      }
      expect(markdown).not.toMatch(/\bNaN\b|n\/a/);
      expect(renderSummary(report)).toContain("targets at 3,000 events");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 400_000);
});

function expectGoodRun(run: LoadPair): void {
  for (const side of [run.trailgraph, run.raw]) {
    expect(side.requests).toBeGreaterThan(0);
    expect(side.requestsPerSecond).toBeGreaterThan(0);
    expect(side.p50).toBeGreaterThan(0);
    expect(side.p99).toBeGreaterThanOrEqual(side.p50);
    expect(side.errors + side.timeouts + side.non2xx + side.graphqlErrors).toBe(0);
  }
  expect(run.ratio).toBeGreaterThan(0);
}
