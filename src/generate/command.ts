/**
 * `trailgraph generate`: writes realistic synthetic ActionTrail events to a folder.
 *
 *   generate --events N --accounts M --seed S --out <folder>
 *            [--format oss|ndjson] [--multi-account] [--days D] [--start ISO-date]
 */
import { parseArgs } from "node:util";
import { DEFAULT_DAYS } from "./generator";
import { writeGenerated, type OutputFormat } from "./oss-writer";

const MAX_EVENTS = 1_000_000_000;
const MAX_ACCOUNTS = 1_000_000;

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

  const events = wholeNumber("--events", values.events, 1, MAX_EVENTS);
  const accounts = wholeNumber("--accounts", values.accounts, 1, MAX_ACCOUNTS);
  const seed = wholeNumber("--seed", values.seed, 0, Number.MAX_SAFE_INTEGER);
  if (values.out === undefined || values.out.trim() === "") throw new Error("--out <folder> is required");
  const out = values.out;
  const format = (values.format ?? "oss") as OutputFormat;
  if (format !== "oss" && format !== "ndjson") {
    throw new Error(`--format must be oss or ndjson, got '${values.format}'`);
  }
  const multiAccount = values["multi-account"] === true;
  if (multiAccount && format !== "oss") throw new Error("--multi-account applies to --format oss only");
  let days = DEFAULT_DAYS;
  if (values.days !== undefined) {
    days = Number(values.days);
    if (!/^\d+(\.\d+)?$/.test(values.days.trim()) || !(days > 0) || days > 36500) {
      throw new Error(`--days must be a number of days greater than 0 and at most 36500, got '${values.days}'`);
    }
  }
  let start: Date | undefined;
  if (values.start !== undefined) {
    start = new Date(values.start);
    if (!Number.isFinite(start.getTime()))
      throw new Error(`--start must be a date (2025-01-01T00:00:00Z), got '${values.start}'`);
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

function wholeNumber(flag: string, value: string | undefined, min: number, max: number): number {
  if (value === undefined) throw new Error(`${flag} is required`);
  const trimmed = value.trim().replace(/_/g, "");
  const parsed = Number(trimmed);
  if (!/^\d+$/.test(trimmed) || !Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
    throw new Error(`${flag} must be a whole number from ${min} to ${max}, got '${value}'`);
  }
  return parsed;
}
