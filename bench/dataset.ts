/**
 * What the benchmark scripts that run on a generated MySQL dataset share: their option parsing,
 * and the dataset itself, made as `npm run bench` makes it (bench/harness.ts).
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { createConnection, type Connection } from "mysql2/promise";
import { createTestDatabase } from "../test/support/mysql-server";
import { runCli, runIngest } from "./children";
import { describePeaks } from "./harness";
import { trailgraph } from "./trailgraph";

/** The generator's options every dataset script takes (parseArgs `options`), with `npm run bench`'s defaults. */
export const DATASET_OPTIONS = {
  events: { type: "string", default: "100000" },
  accounts: { type: "string", default: "200" },
  seed: { type: "string", default: "4" },
  days: { type: "string", default: "30" },
} as const;

/** What the generator is asked for, from DATASET_OPTIONS' values. */
export function datasetToGenerate(values: { events: string; accounts: string; seed: string; days: string }) {
  return {
    events: positive("--events", values.events),
    accounts: positive("--accounts", values.accounts),
    seed: Number(values.seed),
    days: positive("--days", values.days),
  };
}

export function positive(flag: string, value: string): number {
  const parsed = Number(value.replace(/_/g, ""));
  if (!Number.isSafeInteger(parsed) || parsed <= 0) throw new Error(`${flag} must be a positive whole number`);
  return parsed;
}

export function wholeOrZero(flag: string, value: string): number {
  const parsed = Number(value.replace(/_/g, ""));
  if (!Number.isSafeInteger(parsed) || parsed < 0) throw new Error(`${flag} must be 0 or a positive whole number`);
  return parsed;
}

export function listOf<T extends string>(flag: string, value: string, allowed: readonly T[]): T[] {
  const parts = value.split(",").map((part) => part.trim());
  const bad = parts.find((part) => !(allowed as readonly string[]).includes(part));
  if (bad !== undefined || parts.length === 0) throw new Error(`${flag} takes some of ${allowed.join(",")}`);
  return [...new Set(parts as T[])];
}

/** The dataset as `npm run bench` makes it: generated OSS files, `trailgraph ingest`, ANALYZE, settled. */
export async function buildDataset(
  serverUrl: string,
  /** Names the database: tg_bench_<runId>_<events>. */
  runId: string,
  generate: { events: number; accounts: number; seed: number; days: number },
  work: string,
  keep: boolean,
  log: (line: string) => void,
): Promise<{ url: string; drop(): Promise<void>; figures: Record<string, unknown> }> {
  const label = generate.events.toLocaleString("en-US");
  log(`generating ${label} events (${generate.accounts} accounts, seed ${generate.seed}, ${generate.days} days)`);
  const datasetDir = join(work, "dataset");
  let began = performance.now();
  const written = await trailgraph.ossWriter().writeGenerated({ ...generate, out: datasetDir, format: "oss" });
  const generateSeconds = (performance.now() - began) / 1000;
  log(`${written.files} files, ${(written.bytes / 1e6).toFixed(1)} MB, in ${generateSeconds.toFixed(1)} s`);
  const db = await createTestDatabase(serverUrl, `tg_bench_${runId}_${generate.events}`);
  try {
    await runCli(["migrate"], db.url);
    log(`trailgraph ingest --json <folder>`);
    began = performance.now();
    const ingested = await runIngest([datasetDir], db.url);
    const rejected =
      typeof ingested.summary.rejected === "number" ? ingested.summary.rejected : ingested.summary.rejected.length;
    if (rejected > 0 || ingested.summary.inserted !== generate.events)
      throw new Error(`trailgraph ingest stored ${ingested.summary.inserted} of ${generate.events} events`);
    const eventsPerSecond = ingested.summary.inserted / (ingested.summary.elapsedMs / 1000);
    log(`${Math.round(eventsPerSecond)} events/s, peak RSS ${describePeaks(ingested.processes)}`);
    await withConnection(db.url, (c) =>
      c.query(
        "ANALYZE TABLE events, event_resources, event_orders, orders, order_items, resources, identities, accounts",
      ),
    );
    const settled = await settle(db.url);
    log(`database settled in ${settled.seconds.toFixed(0)} s${settled.settled ? "" : " (stopped waiting)"}`);
    if (!keep) rmSync(datasetDir, { recursive: true, force: true });
    return {
      url: db.url,
      drop: db.drop,
      figures: {
        events: generate.events,
        files: written.files,
        bytes: written.bytes,
        generateSeconds,
        ingestEventsPerSecond: eventsPerSecond,
        settle: settled,
      },
    };
  } catch (error) {
    if (!keep) await db.drop();
    throw error;
  }
}

export async function withConnection<T>(url: string, use: (connection: Connection) => Promise<T>): Promise<T> {
  const connection = await createConnection({ uri: url, connectTimeout: 10_000 });
  try {
    return await use(connection);
  } finally {
    await connection.end();
  }
}

/**
 * Waits (at most 120 s) until the database server has written the ingest's dirty pages and
 * purged its undo history, as `npm run bench` does, so that the load measures reads.
 */
export async function settle(url: string): Promise<{ seconds: number; settled: boolean }> {
  return withConnection(url, async (c) => {
    const began = performance.now();
    const [[before]] = (await c.query("SELECT @@GLOBAL.innodb_max_dirty_pages_pct AS pct")) as unknown as [
      Array<{ pct: number }>,
    ];
    const lowered = await c.query("SET GLOBAL innodb_max_dirty_pages_pct = 0").then(
      () => true,
      () => false,
    );
    let settled = false;
    try {
      while (performance.now() - began < 120_000) {
        const [rows] = (await c.query(
          "SHOW GLOBAL STATUS WHERE Variable_name IN ('Innodb_buffer_pool_pages_dirty', 'Innodb_history_list_length')",
        )) as unknown as [Array<{ Value: string }>];
        if (rows.every((row) => Number(row.Value) <= 100)) {
          settled = true;
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    } finally {
      if (lowered) await c.query("SET GLOBAL innodb_max_dirty_pages_pct = ?", [before.pct]);
    }
    return { seconds: (performance.now() - began) / 1000, settled };
  });
}
