/**
 * `npx tsx bench/ingest-memory.ts [flags]`: only the memory side of the ingest benchmark
 * (bench/harness.ts), without the GraphQL load: the large single files of `npm run bench`,
 * and optionally a dataset in the OSS layout ingested with the heap bound and without it.
 * Prints a table, and every figure as JSON to .bench/ingest-memory.json. Needs `npm run build`.
 *
 *   --big-file-bytes 1073741824  size of the JSON lines file and of the JSON array file (0: none)
 *   --oss-events 0           also generate this many events in the OSS layout (gzip files, as
 *                            `npm run bench` does) and ingest them
 *   --heap-mb default        comma-separated TRAILGRAPH_INGEST_HEAP_MB values to run each ingest
 *                            under; `default` is the CLI's own bound, `unbounded` runs the CLI with
 *                            NODE_OPTIONS=--max-old-space-size=4096 (no bound in practice, no re-run)
 *   --accounts 200 --seed 4 --days 30   the generator's settings (those of `npm run bench`)
 *   --keep                   keep the databases and files
 *
 * MYSQL_URL=mysql://user:pass@host:port/ uses that server; otherwise a throwaway MariaDB/MySQL.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createTestDatabase, startThrowawayMysql, type ThrowawayMysql } from "../test/support/mysql-server";
import { ingestFigures, runCli, runIngest } from "./children";
import { bigFileLabel, describePeaks, ingestBigFile, writeBigFiles } from "./harness";
import { ROOT, trailgraph } from "./trailgraph";

interface Row {
  input: string;
  heap: string;
  events: number;
  bytes: number;
  eventsPerSecond: number;
  elapsedSeconds: number;
  wallSeconds: number;
  peakRssBytes: number;
  processes: Array<{ pid: number; forked: boolean; peakRssBytes: number }>;
  polledPeakRssBytes: number | null;
}

function variant(heap: string): { env: Record<string, string | undefined>; label: string } {
  if (heap === "default") return { env: { TRAILGRAPH_INGEST_HEAP_MB: undefined }, label: "default bound" };
  if (heap === "unbounded") return { env: { NODE_OPTIONS: "--max-old-space-size=4096" }, label: "unbounded" };
  if (!/^\d+$/.test(heap)) throw new Error(`--heap-mb takes MB, default or unbounded; got '${heap}'`);
  return { env: { TRAILGRAPH_INGEST_HEAP_MB: heap }, label: `${heap} MB heap` };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    strict: true,
    options: {
      "big-file-bytes": { type: "string", default: String(2 ** 30) },
      "oss-events": { type: "string", default: "0" },
      "heap-mb": { type: "string", default: "default" },
      accounts: { type: "string", default: "200" },
      seed: { type: "string", default: "4" },
      days: { type: "string", default: "30" },
      keep: { type: "boolean", default: false },
    },
  });
  const bigFileBytes = Number(values["big-file-bytes"].replace(/_/g, ""));
  const ossEvents = Number(values["oss-events"].replace(/_/g, ""));
  const heaps = values["heap-mb"].split(",").map((part) => part.trim());
  const variants = heaps.map(variant);
  const generate = { accounts: Number(values.accounts), seed: Number(values.seed), days: Number(values.days) };
  const keep = values.keep;
  const log = (line: string) => process.stderr.write(`[memory ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
  // A private temporary folder, the throwaway server's included (see bench/run.ts).
  const privateTmp = mkdtempSync(join(tmpdir(), "trailgraph-bench-"));
  process.env.TMPDIR = privateTmp;
  if (!keep) process.on("exit", () => rmSync(privateTmp, { recursive: true, force: true }));
  const runId = `${Date.now().toString(36)}${randomBytes(2).toString("hex")}`;

  let throwaway: ThrowawayMysql | null = null;
  let serverUrl = process.env.MYSQL_URL?.trim() ?? "";
  if (serverUrl === "") {
    log("starting a throwaway MariaDB/MySQL server (test/support/mysql-server.ts)");
    throwaway = await startThrowawayMysql();
    serverUrl = throwaway.url;
  }
  const rows: Row[] = [];
  try {
    if (ossEvents > 0) {
      const dir = join(privateTmp, "oss");
      log(`generating ${ossEvents.toLocaleString("en-US")} events in the OSS layout`);
      const written = await trailgraph
        .ossWriter()
        .writeGenerated({ ...generate, events: ossEvents, out: dir, format: "oss" });
      log(`${written.files} files, ${(written.bytes / 1e6).toFixed(1)} MB`);
      for (const [index, { env, label }] of variants.entries()) {
        const db = await createTestDatabase(serverUrl, `tg_bench_${runId}_oss_${index}`);
        try {
          await runCli(["migrate"], db.url);
          log(`trailgraph ingest --json <OSS folder> (${label})`);
          const run = await runIngest([dir], db.url, [], env);
          if (run.summary.inserted !== ossEvents)
            throw new Error(`stored ${run.summary.inserted} of ${ossEvents} events`);
          const row: Row = {
            input: `${ossEvents.toLocaleString("en-US")} events, OSS layout (${written.files} gzip files)`,
            heap: label,
            events: ossEvents,
            bytes: written.bytes,
            ...ingestFigures(run),
          };
          log(`${Math.round(row.eventsPerSecond)} events/s, peak RSS ${describePeaks(run.processes)}`);
          rows.push(row);
        } finally {
          if (!keep) await db.drop();
        }
      }
      if (!keep) rmSync(dir, { recursive: true, force: true });
    }
    if (bigFileBytes > 0) {
      const big = await writeBigFiles({ ...generate, bytes: bigFileBytes, log });
      try {
        for (const file of big.files) {
          for (const [index, { env, label }] of variants.entries()) {
            const report = await ingestBigFile(file, { serverUrl, runId, keep, log, env, tag: String(index) });
            rows.push({ input: bigFileLabel(file), heap: label, ...report });
          }
        }
      } finally {
        if (!keep) await big.remove();
      }
    }
  } finally {
    if (throwaway) await throwaway.stop();
  }

  const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
  process.stdout.write(
    ["input | heap | events | bytes | events/s | ingest s | wall s | peak RSS (each process) | polled VmHWM"]
      .concat(
        rows.map((row) =>
          [
            row.input,
            row.heap,
            row.events.toLocaleString("en-US"),
            row.bytes.toLocaleString("en-US"),
            Math.round(row.eventsPerSecond).toLocaleString("en-US"),
            row.elapsedSeconds.toFixed(1),
            row.wallSeconds.toFixed(1),
            `${mib(row.peakRssBytes)} (${describePeaks(row.processes)})`,
            row.polledPeakRssBytes === null ? "-" : mib(row.polledPeakRssBytes),
          ].join(" | "),
        ),
      )
      .join("\n") + "\n",
  );
  const out = join(ROOT, ".bench", "ingest-memory.json");
  mkdirSync(join(ROOT, ".bench"), { recursive: true });
  writeFileSync(
    out,
    `${JSON.stringify({ finishedAt: new Date().toISOString(), argv: process.argv.slice(2), rows }, null, 2)}\n`,
  );
  process.stdout.write(`written to ${out}\n`);
}

process.once("SIGINT", () => process.exit(130));
process.once("SIGTERM", () => process.exit(143));

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
