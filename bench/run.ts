/**
 * `npm run bench [-- flags]`: the benchmark of issue 4 (see bench/harness.ts), written to
 * BENCHMARKS.md, with a short table on stdout.
 *
 *   --sizes 100000,1000000   dataset sizes in events
 *   --huge                   add 10,000,000 events
 *   --accounts 200 --seed 4 --days 30
 *   --duration 10            seconds per load step;  --warmup 3  seconds of warm-up
 *   --slices 5               each step in this many turns, TrailGraph and raw alternately
 *   --connections 1,16,64
 *   --workers 1              processes each server serves from (`trailgraph serve --workers N`, and
 *                            as many raw server processes)
 *   --no-profile             skip the CPU profiles and query plans (largest size)
 *   --big-file-bytes 1073741824  size of the single large JSON lines file and JSON array file
 *                            whose ingest is measured for memory (peak RSS)
 *   --no-big-files           skip them (bench/ingest-memory.ts runs them alone)
 *   --keep                   keep the databases and generated files (under $TMPDIR/trailgraph-bench-*)
 *   --out BENCHMARKS.md      where to write the report (every figure also goes to .bench/last-run.json)
 *   --render                 write the report again from .bench/last-run.json (e.g. after editing
 *                            bench/FINDINGS.md), without measuring anything
 *
 * MYSQL_URL=mysql://user:pass@host:port/ uses that server; otherwise a throwaway MariaDB/MySQL
 * is started (test/support/mysql-server.ts) and removed at the end.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import * as prettier from "prettier";
import { runBenchmark, type BenchReport } from "./harness";
import { renderMarkdown, renderSummary } from "./report";
import { ROOT } from "./trailgraph";

/** Every figure of the last run, so that the report can be written again (`--render`); .bench/ is ignored by git. */
const LAST_RUN = join(ROOT, ".bench", "last-run.json");

interface SavedRun {
  command: string;
  report: BenchReport;
}

function list(flag: string, value: string): number[] {
  const values = value.split(",").map((part) => Number(part.trim().replace(/_/g, "")));
  if (values.length === 0 || values.some((v) => !Number.isSafeInteger(v) || v <= 0)) {
    throw new Error(`${flag} takes positive whole numbers separated by commas, got '${value}'`);
  }
  return values;
}

function positive(flag: string, value: string, whole = true): number {
  const parsed = Number(value);
  if (!(parsed > 0) || (whole && !Number.isSafeInteger(parsed)))
    throw new Error(`${flag} must be a positive number, got '${value}'`);
  return parsed;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      sizes: { type: "string", default: "100000,1000000" },
      huge: { type: "boolean", default: false },
      accounts: { type: "string", default: "200" },
      seed: { type: "string", default: "4" },
      days: { type: "string", default: "30" },
      duration: { type: "string", default: "10" },
      warmup: { type: "string", default: "3" },
      slices: { type: "string", default: "5" },
      connections: { type: "string", default: "1,16,64" },
      workers: { type: "string", default: "1" },
      "no-profile": { type: "boolean", default: false },
      "big-file-bytes": { type: "string", default: String(2 ** 30) },
      "no-big-files": { type: "boolean", default: false },
      keep: { type: "boolean", default: false },
      out: { type: "string", default: "BENCHMARKS.md" },
      render: { type: "boolean", default: false },
    },
  });
  const out = resolve(ROOT, values.out);
  const findingsFile = join(ROOT, "bench", "FINDINGS.md");
  const write = async (saved: SavedRun) => {
    const markdown = renderMarkdown(saved.report, {
      command: saved.command,
      findings: existsSync(findingsFile) ? readFileSync(findingsFile, "utf8") : null,
    });
    // Formatted as `npm run lint` (prettier --check .) wants it.
    const options = (await prettier.resolveConfig(out)) ?? {};
    writeFileSync(out, await prettier.format(markdown, { ...options, filepath: out }));
    process.stdout.write(`\n${renderSummary(saved.report)}\n\nwritten to ${out}\n`);
    if (saved.report.failures.length > 0) {
      process.stderr.write(
        `\nbench: FAILED, load steps with errors:\n${saved.report.failures.map((f) => `  ${f}`).join("\n")}\n`,
      );
      process.exitCode = 1;
    }
  };
  if (values.render) {
    if (!existsSync(LAST_RUN)) throw new Error(`${LAST_RUN} does not exist: run the benchmark first`);
    await write(JSON.parse(readFileSync(LAST_RUN, "utf8")) as SavedRun);
    return;
  }
  const sizes = list("--sizes", values.sizes);
  if (values.huge && !sizes.includes(10_000_000)) sizes.push(10_000_000);
  const warmup = Number(values.warmup);
  if (!(warmup >= 0)) throw new Error(`--warmup must be 0 or more seconds, got '${values.warmup}'`);
  // A private temporary folder for the whole run, the throwaway server's included (it takes
  // TMPDIR as its tmpdir): a MariaDB starting up deletes every `#sql*` file in its tmpdir, so
  // with the shared /tmp another test run's server would delete this one's temporary tables
  // in the middle of a query (the UNION ALL of operation c uses them).
  const privateTmp = mkdtempSync(join(tmpdir(), "trailgraph-bench-"));
  process.env.TMPDIR = privateTmp;
  if (!values.keep) process.on("exit", () => rmSync(privateTmp, { recursive: true, force: true }));
  const log = (line: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

  const report = await runBenchmark({
    sizes,
    accounts: positive("--accounts", values.accounts),
    seed: Number(values.seed),
    days: positive("--days", values.days, false),
    duration: positive("--duration", values.duration),
    slices: positive("--slices", values.slices),
    warmup,
    connections: list("--connections", values.connections),
    workers: positive("--workers", values.workers),
    profile: !values["no-profile"],
    bigFileBytes: values["no-big-files"] ? 0 : positive("--big-file-bytes", values["big-file-bytes"].replace(/_/g, "")),
    keep: values.keep,
    log,
  });

  const command = `npm run bench${args.length ? ` -- ${args.join(" ")}` : ""}`;
  const saved: SavedRun = { command: process.env.MYSQL_URL ? `MYSQL_URL=<server> ${command}` : command, report };
  mkdirSync(dirname(LAST_RUN), { recursive: true });
  writeFileSync(LAST_RUN, `${JSON.stringify(saved)}\n`);
  await write(saved);
}

// Ctrl-C: exit, so that the 'exit' handlers kill the children and the throwaway server.
process.once("SIGINT", () => process.exit(130));
process.once("SIGTERM", () => process.exit(143));

main().then(
  () => process.exit(process.exitCode ?? 0),
  (error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
