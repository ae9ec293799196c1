/**
 * `trailgraph generate`: writes realistic synthetic ActionTrail events to a folder.
 *
 *   generate --out <folder> [--events N] [--accounts M] [--seed S]
 *            [--format oss|ndjson] [--multi-account] [--days D] [--start ISO-date]
 */
import { parseArgs } from "node:util";
import { UsageError } from "../usage-error";
import { DEFAULT_DAYS, DEFAULT_START } from "./generator";
import { writeGenerated, type OutputFormat } from "./oss-writer";

const MAX_EVENTS = 1_000_000_000;
const MAX_ACCOUNTS = 1_000_000;

/**
 * What `generate` makes when not told otherwise: enough for a look at the graph in a second
 * or two, and the same events every time (the seed fixes them).
 */
export const GENERATE_DEFAULTS = { events: 1000, accounts: 5, seed: 1 } as const;

/**
 * Flags with no sensible default: where the files go is the user's choice (a default folder
 * would fill whatever folder the command happens to run in). Missing ones are named at once.
 */
const REQUIRED = { out: "--out <folder>" } as const;

const START = DEFAULT_START.toISOString().slice(0, 10);

/** The command's part of `trailgraph help` (src/cli.ts). */
export const GENERATE_USAGE = `generate --out <folder> [--events N] [--accounts M] [--seed S] [--format ndjson]
         [--multi-account] [--days D] [--start ISO-date]
    write realistic synthetic events into <folder> (OSS delivery layout by default):
    N events (default ${GENERATE_DEFAULTS.events}) for M accounts (default ${GENERATE_DEFAULTS.accounts}) over D days (default ${DEFAULT_DAYS}) from
    --start (default ${START}); the same seed S (default ${GENERATE_DEFAULTS.seed}) writes the same events`;

export async function generateCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      events: { type: "string" },
      accounts: { type: "string" },
      seed: { type: "string" },
      out: { type: "string" },
      format: { type: "string" },
      "multi-account": { type: "boolean" },
      days: { type: "string" },
      start: { type: "string" },
    },
  });

  const missing = (Object.keys(REQUIRED) as Array<keyof typeof REQUIRED>).filter(
    (name) => (values[name] ?? "").trim() === "",
  );
  if (missing.length > 0) {
    throw new UsageError(`generate needs ${missing.map((name) => REQUIRED[name]).join(" and ")}`);
  }
  const out = values.out!;
  const events = wholeNumber("--events", values.events, GENERATE_DEFAULTS.events, 1, MAX_EVENTS);
  const accounts = wholeNumber("--accounts", values.accounts, GENERATE_DEFAULTS.accounts, 1, MAX_ACCOUNTS);
  const seed = wholeNumber("--seed", values.seed, GENERATE_DEFAULTS.seed, 0, Number.MAX_SAFE_INTEGER);
  const format = (values.format ?? "oss") as OutputFormat;
  if (format !== "oss" && format !== "ndjson") {
    throw new UsageError(`--format must be oss or ndjson, got '${values.format}'`);
  }
  const multiAccount = values["multi-account"] === true;
  if (multiAccount && format !== "oss") throw new UsageError("--multi-account applies to --format oss only");
  let days = DEFAULT_DAYS;
  if (values.days !== undefined) {
    days = Number(values.days);
    if (!/^\d+(\.\d+)?$/.test(values.days.trim()) || !(days > 0) || days > 36500) {
      throw new UsageError(`--days must be a number of days greater than 0 and at most 36500, got '${values.days}'`);
    }
  }
  let start: Date | undefined;
  if (values.start !== undefined) {
    start = new Date(values.start);
    if (!Number.isFinite(start.getTime()))
      throw new UsageError(`--start must be a date (2025-01-01T00:00:00Z), got '${values.start}'`);
  }

  const began = performance.now();
  const summary = await writeGenerated({ events, accounts, seed, out, format, multiAccount, days, start });
  const seconds = (performance.now() - began) / 1000;
  const what =
    format === "oss"
      ? `${summary.files} gzip file(s) in the ${multiAccount ? "multi-account " : ""}OSS layout`
      : `${summary.files} JSON lines file(s)`;
  process.stdout.write(
    `generated ${summary.events} events for ${accounts} account(s), seed ${seed}, into ${out}: ${what}, ` +
      `${(summary.bytes / 1e6).toFixed(1)} MB, in ${seconds.toFixed(1)} s ` +
      `(${Math.round(summary.events / Math.max(seconds, 0.001))} events/s)\n`,
  );
  return 0;
}

function wholeNumber(flag: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const trimmed = value.trim().replace(/_/g, "");
  const parsed = Number(trimmed);
  if (!/^\d+$/.test(trimmed) || !Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
    throw new UsageError(`${flag} must be a whole number from ${min} to ${max}, got '${value}'`);
  }
  return parsed;
}
