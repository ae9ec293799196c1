/**
 * Helpers for the tests that run `trailgraph ingest` (the built CLI) on delivery files:
 * running the CLI as a child process, writing events in every delivery format, and reading
 * a store back in a form that compares across stores and ingest orders.
 */
import { spawn } from "node:child_process";
import { createReadStream, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { gzipSync } from "node:zlib";
import type { DataSource } from "typeorm";

/**
 * The built CLI, as `npx trailgraph` runs it (`npm test` builds first). TRAILGRAPH_TEST_CLI
 * points the tests at another build (a scratch copy with a deliberate fault, to see them fail).
 */
export const CLI = resolve(process.env.TRAILGRAPH_TEST_CLI ?? "dist/src/cli.js");
export const SAMPLES = resolve("samples/events.json");
export const samples = JSON.parse(readFileSync(SAMPLES, "utf8")) as Array<Record<string, unknown>>;

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface CliOptions {
  /** DATABASE_URL for the child. */
  databaseUrl?: string;
  cwd: string;
  /** A file whose bytes are piped into the child's standard input. */
  stdinFile?: string;
  /** Writes the child's standard input (and ends it) instead; `output` is what the child printed so far. */
  feed?: (stdin: NodeJS.WritableStream, output: () => { stdout: string; stderr: string }) => Promise<void>;
  env?: Record<string, string | undefined>;
}

/** Runs `node dist/src/cli.js <args>`; resolves when the child exits. */
export function runCli(args: string[], options: CliOptions): Promise<CliRun> {
  const started = Date.now();
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: options.cwd,
      env: { ...process.env, DATABASE_URL: options.databaseUrl, ...options.env },
      stdio: [options.stdinFile || options.feed ? "pipe" : "ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (chunk) => (stdout += chunk));
    child.stderr?.on("data", (chunk) => (stderr += chunk));
    if (child.stdin) {
      child.stdin.on("error", () => {}); // the child may exit before reading everything
      if (options.stdinFile) createReadStream(options.stdinFile).pipe(child.stdin);
      else options.feed?.(child.stdin, () => ({ stdout, stderr })).then(() => child.stdin?.end(), reject);
    }
    child.on("error", reject);
    child.on("close", (code) => resolvePromise({ code, stdout, stderr, ms: Date.now() - started }));
  });
}

/** A run's `--json` summary. */
export function summaryOf(run: CliRun): Record<string, any> {
  try {
    return JSON.parse(run.stdout);
  } catch {
    throw new Error(`not a JSON summary (exit ${run.code}):\n${run.stdout}\n${run.stderr}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Delivery formats

export const gzip = (data: string | Buffer): Buffer => gzipSync(data);

export const jsonArray = (events: unknown[]): string => JSON.stringify(events);

export const jsonLines = (values: unknown[]): string => values.map((value) => JSON.stringify(value)).join("\n") + "\n";

/** One SLS log of an ActionTrail event, the event as a JSON string in `event`. */
export function slsRecord(event: Record<string, unknown>): Record<string, unknown> {
  return {
    __topic__: "actiontrail_audit_event",
    __source__: "actiontrail",
    __time__: Math.floor(Date.parse(String(event.eventTime)) / 1000),
    event: JSON.stringify(event),
  };
}

/** A LookupEvents response page. */
export function lookupPage(events: unknown[], nextToken = ""): Record<string, unknown> {
  return {
    RequestId: "0B2E7E8B-0000-4C5A-9A31-3D8E0F3F4C11",
    StartTime: "2021-01-01T00:00:00Z",
    EndTime: "2021-12-31T23:59:59Z",
    NextToken: nextToken,
    Events: events,
  };
}

// ---------------------------------------------------------------------------------------------
// Reading a store back

/** The tables an ingest fills (the bookkeeping tables ingested_files and ingest_rejects aside). */
export const DATA_TABLES = [
  "accounts",
  "events",
  "event_payloads",
  "identities",
  "resources",
  "orders",
  "order_items",
  "event_resources",
  "event_orders",
] as const;

function normalizeValue(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value.toISOString();
  if (Buffer.isBuffer(value)) return value.toString("utf8");
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function normalizeRow(row: Record<string, unknown>, omit: readonly string[]): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const key of Object.keys(row).sort()) if (!omit.includes(key)) out[key] = normalizeValue(row[key]);
  return out;
}

/**
 * Every row of every data table, surrogate keys replaced by the natural keys they stand for,
 * so that stores filled from different formats, in different orders, compare equal.
 */
export async function logicalSnapshot(dataSource: DataSource): Promise<Record<string, string[]>> {
  const queries: Record<(typeof DATA_TABLES)[number], [sql: string, omit: string[]]> = {
    accounts: ["SELECT * FROM accounts", []],
    events: [
      "SELECT e.*, i.identity_key AS identity_ref FROM events e LEFT JOIN identities i ON i.pk = e.identity_pk",
      ["pk", "identity_pk"],
    ],
    event_payloads: [
      "SELECT p.*, e.event_id AS event_ref FROM event_payloads p LEFT JOIN events e ON e.pk = p.event_pk",
      ["event_pk"],
    ],
    identities: ["SELECT * FROM identities", ["pk"]],
    resources: ["SELECT * FROM resources", ["pk"]],
    orders: [
      "SELECT o.*, e.event_id AS purchase_event_ref FROM orders o LEFT JOIN events e ON e.pk = o.purchase_event_pk",
      ["purchase_event_pk"],
    ],
    order_items: [
      "SELECT oi.*, r.type AS resource_type, r.resource_id AS resource_ref " +
        "FROM order_items oi LEFT JOIN resources r ON r.pk = oi.resource_pk",
      ["resource_pk"],
    ],
    event_resources: [
      "SELECT er.*, e.event_id AS event_ref, r.type AS resource_type, r.resource_id AS resource_ref " +
        "FROM event_resources er LEFT JOIN events e ON e.pk = er.event_pk LEFT JOIN resources r ON r.pk = er.resource_pk",
      ["event_pk", "resource_pk"],
    ],
    event_orders: [
      "SELECT eo.*, e.event_id AS event_ref FROM event_orders eo LEFT JOIN events e ON e.pk = eo.event_pk",
      ["event_pk"],
    ],
  };
  const result: Record<string, string[]> = {};
  for (const table of DATA_TABLES) {
    const [sql, omit] = queries[table];
    const rows: Record<string, unknown>[] = await dataSource.query(sql);
    result[table] = rows.map((row) => JSON.stringify(normalizeRow(row, omit))).sort();
  }
  return result;
}

export async function storedEventIds(dataSource: DataSource): Promise<string[]> {
  const rows: Array<{ event_id: string }> = await dataSource.query("SELECT event_id FROM events");
  return rows.map((row) => row.event_id).sort();
}

export async function countRows(dataSource: DataSource, table: string): Promise<number> {
  const [row] = await dataSource.query(`SELECT COUNT(*) AS n FROM ${table}`);
  return Number(row.n);
}

/** Empties every table, bookkeeping included, so that the next case starts from a new store. */
export async function clearStore(dataSource: DataSource): Promise<void> {
  // Children before parents, so that foreign keys hold on both stores.
  for (const table of [
    "event_orders",
    "event_resources",
    "order_items",
    "event_payloads",
    "events",
    "orders",
    "resources",
    "identities",
    "accounts",
    "ingested_files",
    "ingest_rejects",
  ]) {
    await dataSource.query(`DELETE FROM ${table}`);
  }
}
