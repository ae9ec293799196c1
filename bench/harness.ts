/**
 * The benchmark of issue 4, as a function: `runBenchmark(options)` returns every figure;
 * bench/run.ts (`npm run bench`) writes them to BENCHMARKS.md, and test/bench-smoke.spec.ts
 * runs it at a tiny size so that it cannot rot.
 *
 * Per dataset size:
 *  1. generate the events (fixed seed) into a temp folder, in the OSS layout when
 *     `trailgraph ingest` takes a folder of .gz files, else as JSON lines files;
 *  2. ingest them with the real CLI into a fresh migrated database (events/s, peak RSS), and
 *     write the same normalized rows with raw mysql2 INSERTs into another (the limit);
 *  3. serve the first database with `trailgraph serve` and with the raw server (same SQL,
 *     same JSON, same pool size), check that both answer the same, count the statements of
 *     each operation in-process, and load both with autocannon at each connection count;
 *  4. at the largest size (with `profile`), EXPLAIN the statements and CPU-profile the
 *     server under load, one operation at a time.
 * Then the growth of p50 latencies between sizes, in steps whose turns alternate between a
 * server on the smallest dataset and one on the larger; then (`bigFileBytes`) the ingest of one large
 * JSON lines file and one large single JSON array, for memory (peak RSS) whatever the input
 * size; and the targets of issue 4.
 */
import { randomBytes } from "node:crypto";
import { createReadStream, createWriteStream, existsSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, stat } from "node:fs/promises";
import * as os from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { isDeepStrictEqual } from "node:util";
import { createConnection, createPool, type Connection } from "mysql2/promise";
import { createTestDatabase, startThrowawayMysql, type ThrowawayMysql } from "../test/support/mysql-server";
import {
  ingestFigures,
  runCli,
  runIngest,
  startRawServer,
  startTrailGraph,
  type IngestRun,
  type Server,
} from "./children";
import { cpuSeconds, runAlternating, runLoad, type LoadResult } from "./load";
import {
  OPERATIONS,
  mulberry32,
  requestBodies,
  variableSets,
  type DatasetFacts,
  type OpKey,
  type Variables,
} from "./operations";
import { summarizeProfile, type ProfileSummary } from "./profile";
import { rawIngest, tableCounts, type RawIngestResult } from "./raw-ingest";
import { runRaw, type Row } from "./raw-sql";
import { CLI, packageVersion, trailgraph } from "./trailgraph";

/** InnoDB buffer pool of the benchmark's throwaway server, MiB. */
export const BENCH_BUFFER_POOL_MB = 2048;

export interface BenchOptions {
  /** Dataset sizes in events, smallest first. */
  sizes: number[];
  accounts: number;
  seed: number;
  /** Days the events span (the generator's `days`). */
  days: number;
  /** Seconds of each measured load step. */
  duration: number;
  /**
   * Turns a step is cut into: TrailGraph and the raw server take duration/slices seconds at a
   * time, alternately (default 5).
   */
  slices?: number;
  /** Seconds of load before the measured steps of each operation and server (discarded). */
  warmup: number;
  connections: number[];
  /**
   * Processes each server serves from: `trailgraph serve --workers N`, and as many raw server
   * processes (default 1). CPU profiles are always of one process.
   */
  workers?: number;
  /** A server URL (`mysql://user:pass@host:port/`); unset: MYSQL_URL, else a throwaway server. */
  mysqlUrl?: string | null;
  /** CPU profiles and EXPLAIN at the largest size (the ingest profile at the smallest). */
  profile: boolean;
  /** Which operations to CPU-profile (default: all four). */
  profileOperations?: OpKey[];
  /** Keep the databases and generated files. */
  keep?: boolean;
  /** Variable sets drawn per operation (requests rotate through them). */
  variableSets?: number;
  /**
   * Size of the single large files ingested for memory (one JSON lines file, one JSON array),
   * bytes; 0 or unset skips them.
   */
  bigFileBytes?: number;
  log?: (line: string) => void;
}

export type Side = "trailgraph" | "raw";

export interface LoadPair {
  connections: number;
  trailgraph: LoadResult;
  raw: LoadResult;
  /** TrailGraph req/s ÷ raw req/s. */
  ratio: number;
}

export interface OperationReport {
  key: OpKey;
  title: string;
  /** SQL statements per request, mean over the checked variable sets. */
  statements: { trailgraph: number; raw: number; trailgraphMax: number; samples: number };
  runs: LoadPair[];
}

export interface ExplainRow {
  table: string | null;
  type: string | null;
  key: string | null;
  rows: string | null;
  rRows: string | null;
  extra: string | null;
}

export interface ExplainReport {
  key: OpKey;
  variables: Variables;
  statements: Array<{
    sql: string;
    plan: ExplainRow[];
    /** Median time of the statement alone on one connection (5 runs), ms. */
    medianMs: number;
    /** Session status counters the statement moved (temporary tables, handler reads). */
    counters: Record<string, number>;
  }>;
}

const COUNTERS = [
  "Created_tmp_tables",
  "Created_tmp_disk_tables",
  "Handler_read_key",
  "Handler_read_next",
  "Handler_read_prev",
  "Handler_read_first",
  "Handler_read_rnd_next",
  "Handler_tmp_write",
];

export interface ProfileReport {
  /** An operation, or "ingest". */
  what: OpKey | "ingest";
  connections: number | null;
  /** Throughput while profiled (the profiler costs some). */
  requestsPerSecond: number | null;
  file: string;
  summary: ProfileSummary;
}

export interface SizeReport {
  events: number;
  dataset: {
    inputMode: "oss-folder" | "ndjson-files";
    files: number;
    bytes: number;
    generateSeconds: number;
    firstEvent: string;
    lastEvent: string;
    /** Rows per table after TrailGraph's ingest, and after the raw INSERTs. */
    tables: Record<string, number>;
    rawTables: Record<string, number>;
  };
  ingest: {
    trailgraph: {
      eventsPerSecond: number;
      elapsedSeconds: number;
      wallSeconds: number;
      peakRssBytes: number;
      /** Each process's own peak: the CLI and the child it forks with a bounded heap (older runs: none). */
      processes?: IngestRun["processes"];
      polledPeakRssBytes: number | null;
      read: number;
      inserted: number;
    };
    raw: RawIngestResult;
    ratio: number;
  };
  /** How the database server settled after the ingests, before the read steps (older runs: none). */
  settle?: SettleReport;
  operations: OperationReport[];
  explain: ExplainReport[];
  profiles: ProfileReport[];
}

export interface SettleReport {
  seconds: number;
  /** Modified buffer pool pages not yet written, and undo log entries not yet purged. */
  dirtyPagesBefore: number;
  dirtyPagesAfter: number;
  historyBefore: number;
  historyAfter: number;
  /** False when the limit of `SETTLE_SECONDS` ran out first (the steps then run anyway). */
  settled: boolean;
}

export interface GrowthRow {
  key: OpKey;
  title: string;
  connections: number;
  fromEvents: number;
  toEvents: number;
  p50From: number;
  p50To: number;
  ratio: number;
}

/** `trailgraph ingest` of one large file (`bigFileBytes`). */
export interface BigFileReport {
  format: "ndjson" | "array";
  events: number;
  bytes: number;
  generateSeconds: number;
  eventsPerSecond: number;
  /** The CLI's own elapsed time (its summary). */
  elapsedSeconds: number;
  wallSeconds: number;
  /** The largest peak RSS of the processes the command ran as (the forked child). */
  peakRssBytes: number;
  processes: IngestRun["processes"];
  polledPeakRssBytes: number | null;
}

export interface TargetResult {
  target: string;
  measured: string;
  met: boolean;
}

export interface BenchReport {
  startedAt: string;
  finishedAt: string;
  options: Required<Omit<BenchOptions, "log" | "mysqlUrl">> & { server: string };
  machine: { cpu: string; cores: number; memoryBytes: number; os: string };
  /** The machine's 1-minute load average at moments of the run (anything else running shows here). */
  load: Array<{ when: string; average: number }>;
  versions: Record<string, string>;
  database: { version: string; bufferPoolBytes: number; flushLogAtTrxCommit: string; poolSize: number };
  /** Load steps that had errors, timeouts, non-2xx or GraphQL errors (must be none). */
  failures: string[];
  /** The connection count the ratios, targets and growth are read at (16 when measured). */
  focusConnections: number;
  sizes: SizeReport[];
  growth: GrowthRow[];
  /** The large single files (`bigFileBytes`); absent or empty when skipped. */
  bigFiles?: BigFileReport[];
  /** The size the targets were evaluated at (1,000,000 when measured, else the largest). */
  targetEvents: number;
  targets: TargetResult[];
}

/** Peak RSS limit of issue 4: 300 MB (MiB, 2^20 bytes). */
export const RSS_LIMIT_BYTES = 300 * 1024 * 1024;
const STATEMENT_SAMPLES = 20;

export async function runBenchmark(input: BenchOptions): Promise<BenchReport> {
  const options = {
    keep: false,
    slices: 5,
    variableSets: 1000,
    bigFileBytes: 0,
    workers: 1,
    profileOperations: OPERATIONS.map((op) => op.key),
    ...input,
    sizes: [...input.sizes].sort((a, b) => a - b),
  };
  const log = input.log ?? (() => undefined);
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first.`);
  if (options.sizes.length === 0 || options.connections.length === 0) throw new Error("no sizes or connections");
  const startedAt = new Date();
  const runId = `${startedAt.getTime().toString(36)}${randomBytes(2).toString("hex")}`;
  const focus = options.connections.includes(16)
    ? 16
    : [...options.connections].sort((a, b) => Math.abs(a - 16) - Math.abs(b - 16))[0];

  let throwaway: ThrowawayMysql | null = null;
  let serverUrl = options.mysqlUrl ?? process.env.MYSQL_URL?.trim() ?? "";
  if (serverUrl === "") {
    log("starting a throwaway MariaDB/MySQL server (test/support/mysql-server.ts)");
    // A production server sizes its buffer pool to hold the hot data; 256 MiB (the tests')
    // would hold little of the 1M-event dataset's events table and indexes (about 1 GiB).
    throwaway = await startThrowawayMysql({ bufferPoolMb: BENCH_BUFFER_POOL_MB });
    serverUrl = throwaway.url;
  }
  const cleanups: Array<() => Promise<void>> = [];
  try {
    const admin = await createConnection({ uri: serverUrl, connectTimeout: 10_000 });
    let database: BenchReport["database"];
    let databasePid: number | null = null;
    try {
      const [[row]] = (await admin.query(
        "SELECT VERSION() AS v, @@innodb_buffer_pool_size AS bp, @@innodb_flush_log_at_trx_commit AS f, @@pid_file AS pid_file",
      )) as unknown as [Array<{ v: string; bp: number; f: number; pid_file: string }>];
      try {
        const pid = Number(readFileSync(row.pid_file, "utf8").trim());
        databasePid = cpuSeconds(pid) === null ? null : pid;
      } catch {
        databasePid = null; // a server on another machine, or another user's
      }
      database = {
        version: row.v,
        bufferPoolBytes: Number(row.bp),
        flushLogAtTrxCommit: String(row.f),
        poolSize: Number(process.env.TRAILGRAPH_DB_POOL ?? 10),
      };
    } finally {
      await admin.end();
    }
    log(`database server: ${database.version} (buffer pool ${(database.bufferPoolBytes / 2 ** 20).toFixed(0)} MiB)`);

    const load: BenchReport["load"] = [{ when: "start", average: os.loadavg()[0] }];
    const failures: string[] = [];
    const inputMode = await probeFolderIngest(log);
    const sizes: SizeReport[] = [];
    const sources = new Map<number, DatasetSource>();
    for (const events of options.sizes) {
      const largest = events === options.sizes[options.sizes.length - 1];
      sizes.push(
        await benchSize({
          events,
          options,
          serverUrl,
          runId,
          inputMode,
          focus,
          profile: options.profile && largest,
          profileIngest: options.profile && events === options.sizes[0],
          log,
          cleanups,
          load,
          failures,
          databasePid,
          sources,
        }),
      );
    }

    const growth = await measureGrowth({ options, sources, focus, databasePid, failures, log, cleanups });
    const bigFiles =
      options.bigFileBytes > 0
        ? await benchBigFiles({
            serverUrl,
            runId,
            bytes: options.bigFileBytes,
            accounts: options.accounts,
            seed: options.seed,
            days: options.days,
            keep: options.keep,
            log,
          })
        : [];
    const targetSize = sizes.find((s) => s.events === 1_000_000) ?? sizes[sizes.length - 1];
    const report: BenchReport = {
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      options: {
        sizes: options.sizes,
        accounts: options.accounts,
        seed: options.seed,
        days: options.days,
        duration: options.duration,
        slices: options.slices,
        warmup: options.warmup,
        connections: options.connections,
        workers: options.workers,
        profile: options.profile,
        profileOperations: options.profileOperations,
        keep: options.keep,
        variableSets: options.variableSets,
        bigFileBytes: options.bigFileBytes,
        server: throwaway ? "throwaway server (test/support/mysql-server.ts)" : "MYSQL_URL / given server",
      },
      machine: machine(),
      load: [...load, { when: "end", average: os.loadavg()[0] }],
      failures,
      versions: versions(),
      database,
      focusConnections: focus,
      sizes,
      growth,
      bigFiles,
      targetEvents: targetSize.events,
      targets: [],
    };
    report.targets = evaluateTargets(report, targetSize);
    return report;
  } finally {
    for (const cleanup of cleanups.reverse())
      await cleanup().catch((error: unknown) => log(`cleanup: ${String(error)}`));
    if (throwaway) await throwaway.stop();
  }
}

interface SizeRun {
  events: number;
  options: Required<Omit<BenchOptions, "log" | "mysqlUrl">>;
  serverUrl: string;
  runId: string;
  inputMode: SizeReport["dataset"]["inputMode"];
  focus: number;
  profile: boolean;
  profileIngest: boolean;
  log: (line: string) => void;
  cleanups: Array<() => Promise<void>>;
  load: BenchReport["load"];
  failures: string[];
  /** The database server's process, when it runs on this machine (its CPU time is measured). */
  databasePid: number | null;
  /** Where each size's database is and what is sent to it, for the growth steps. */
  sources: Map<number, DatasetSource>;
}

/** A size's TrailGraph database and the request bodies drawn from it, per operation. */
interface DatasetSource {
  url: string;
  bodies: Map<OpKey, string[]>;
}

async function benchSize(run: SizeRun): Promise<SizeReport> {
  const { events, options, log } = run;
  const label = events.toLocaleString("en-US");
  const work = await mkdtemp(join(os.tmpdir(), `trailgraph-bench-${events}-`));
  if (!options.keep) {
    // Also on Ctrl-C, when the cleanups do not run.
    const removeNow = () => rmSync(work, { recursive: true, force: true });
    process.on("exit", removeNow);
    run.cleanups.push(async () => {
      process.removeListener("exit", removeNow);
      await rm(work, { recursive: true, force: true });
    });
  }
  const generate = { events, accounts: options.accounts, seed: options.seed, days: options.days };

  // 1. The dataset, as files.
  log(
    `[${label}] generating ${label} events (${options.accounts} accounts, seed ${options.seed}, ${options.days} days)`,
  );
  const datasetDir = join(work, "dataset");
  const began = performance.now();
  const { writeGenerated } = trailgraph.ossWriter();
  const written =
    run.inputMode === "oss-folder"
      ? await writeGenerated({ ...generate, out: datasetDir, format: "oss" })
      : await writeGenerated({ ...generate, out: datasetDir, format: "ndjson", maxFileBytes: 64 * 2 ** 20 });
  const generateSeconds = (performance.now() - began) / 1000;
  const inputs =
    run.inputMode === "oss-folder"
      ? [datasetDir]
      : readdirSync(datasetDir)
          .filter((name) => name.endsWith(".ndjson"))
          .sort((a, b) => a.localeCompare(b, "en", { numeric: true }))
          .map((name) => join(datasetDir, name));
  log(`[${label}] ${written.files} files, ${(written.bytes / 1e6).toFixed(1)} MB, in ${generateSeconds.toFixed(1)} s`);

  // 2. Ingest: TrailGraph's CLI, then the raw INSERTs, each into a fresh migrated database.
  const db = await createTestDatabase(run.serverUrl, `tg_bench_${run.runId}_${events}`);
  if (!options.keep) run.cleanups.push(db.drop);
  const rawDb = await createTestDatabase(run.serverUrl, `tg_bench_${run.runId}_${events}_raw`);
  let rawDropped = false;
  if (!options.keep) run.cleanups.push(() => (rawDropped ? Promise.resolve() : rawDb.drop()));
  await Promise.all([runCli(["migrate"], db.url), runCli(["migrate"], rawDb.url)]);

  log(
    `[${label}] trailgraph ingest --json ${run.inputMode === "oss-folder" ? "<folder>" : `<${inputs.length} files>`}`,
  );
  const ingested: IngestRun = await runIngest(inputs, db.url);
  const summary = ingested.summary;
  const rejected = typeof summary.rejected === "number" ? summary.rejected : summary.rejected.length;
  if (rejected > 0 || summary.inserted !== events) {
    throw new Error(
      `trailgraph ingest stored ${summary.inserted} of ${events} events, rejected ${rejected}: ` +
        JSON.stringify((summary.rejects ?? summary.rejected) as unknown).slice(0, 1000),
    );
  }
  const tgRate = summary.inserted / (summary.elapsedMs / 1000);
  log(`[${label}] trailgraph: ${Math.round(tgRate)} events/s, peak RSS ${describePeaks(ingested.processes)}`);
  log(`[${label}] raw mysql2 INSERTs of the same normalized rows`);
  const raw = await rawIngest(rawDb.url, generate, (line) => log(`[${label}] ${line}`));
  log(`[${label}] raw: ${Math.round(raw.eventsPerSecond)} events/s (${raw.statements} statements)`);

  const tables = await withConnection(db.url, async (c) => {
    // Fresh optimizer statistics after the bulk load (untimed; both servers read this database).
    await c.query(
      "ANALYZE TABLE events, event_resources, event_orders, orders, order_items, resources, identities, accounts",
    );
    return tableCounts(c);
  });
  const rawTables = await withConnection(rawDb.url, tableCounts);
  if (!options.keep) {
    await rawDb.drop();
    rawDropped = true;
  }
  if (tables.events !== rawTables.events)
    throw new Error(`raw INSERTs stored ${rawTables.events} events, TrailGraph ${tables.events}`);

  let profileIngest: ProfileReport | null = null;
  if (run.profileIngest) profileIngest = await profileIngestRun(run, inputs, work);
  const settle = await settleDatabase(db.url);
  log(
    `[${label}] database settled in ${settle.seconds.toFixed(0)} s: dirty pages ${settle.dirtyPagesBefore} → ` +
      `${settle.dirtyPagesAfter}, undo history ${settle.historyBefore} → ${settle.historyAfter}` +
      (settle.settled ? "" : ` (stopped waiting after ${SETTLE_SECONDS} s)`),
  );

  // 3. The GraphQL operations.
  const facts = await readFacts(db.url, options.seed);
  const sets = new Map<OpKey, Variables[]>();
  const bodies = new Map<OpKey, string[]>();
  for (const op of OPERATIONS) {
    const drawn = variableSets(op.key, facts, options.variableSets, options.seed);
    sets.set(op.key, drawn);
    bodies.set(op.key, requestBodies(op.key, drawn));
  }
  run.sources.set(events, { url: db.url, bodies });
  const servers: Server[] = [];
  const stopServers = async () => {
    for (const server of servers.splice(0)) await server.stop();
  };
  run.cleanups.push(stopServers);
  const started = (server: Server) => {
    servers.push(server);
    return server;
  };
  // The servers start while the statements are counted in-process.
  const [statements, tg, rawServer] = await Promise.all([
    countStatements(db.url, sets, log),
    startTrailGraph(db.url, { workers: options.workers }).then(started),
    startRawServer(db.url, options.workers).then(started),
  ]);
  await compareOverHttp(tg.url, rawServer.url, bodies);

  const operations: OperationReport[] = [];
  run.load.push({ when: `${label} events, before the HTTP load`, average: os.loadavg()[0] });
  for (const op of OPERATIONS) {
    const opBodies = bodies.get(op.key)!;
    const warm = Math.max(...options.connections.filter((c) => c <= 16), Math.min(...options.connections));
    log(`[${label}] ${op.key}: ${op.title}: warm-up ${options.warmup} s each`);
    if (options.warmup > 0) {
      await runLoad(tg.url, opBodies, warm, options.warmup);
      await runLoad(rawServer.url, opBodies, warm, options.warmup);
    }
    const runs: LoadPair[] = [];
    for (const connections of options.connections) {
      const where = `${label} events: `;
      const [tgMeasured, rawMeasured] = await runAlternating(
        [
          { url: tg.url, measured: { server: tg.pid, database: run.databasePid } },
          { url: rawServer.url, measured: { server: rawServer.pid, database: run.databasePid } },
        ],
        opBodies,
        connections,
        options.duration,
        options.slices,
      );
      const tgResult = checked(tgMeasured, "trailgraph", op.key, run.failures, where);
      const rawResult = checked(rawMeasured, "raw", op.key, run.failures, where);
      const pair = {
        connections,
        trailgraph: tgResult,
        raw: rawResult,
        ratio: tgResult.requestsPerSecond / rawResult.requestsPerSecond,
      };
      runs.push(pair);
      log(
        `[${label}] ${op.key} c=${connections}: trailgraph ${tgResult.requestsPerSecond.toFixed(0)} req/s ` +
          `p50 ${tgResult.p50.toFixed(2)} p99 ${tgResult.p99.toFixed(2)} ms | raw ${rawResult.requestsPerSecond.toFixed(0)} req/s ` +
          `p50 ${rawResult.p50.toFixed(2)} p99 ${rawResult.p99.toFixed(2)} ms | ratio ${pair.ratio.toFixed(2)}`,
      );
    }
    operations.push({ key: op.key, title: op.title, statements: statements.get(op.key)!, runs });
  }
  await stopServers();
  run.load.push({ when: `${label} events, after the HTTP load`, average: os.loadavg()[0] });

  // 4. Why: plans and profiles (largest size).
  const explain: ExplainReport[] = run.profile ? await explainOperations(db.url, facts, sets) : [];
  const profiles: ProfileReport[] = profileIngest ? [profileIngest] : [];
  if (run.profile) {
    for (const key of options.profileOperations) {
      profiles.push(await profileOperation(run, db.url, key, bodies.get(key)!, work));
    }
  }

  return {
    events,
    dataset: {
      inputMode: run.inputMode,
      files: written.files,
      bytes: written.bytes,
      generateSeconds,
      firstEvent: facts.minTime.toISOString(),
      lastEvent: facts.maxTime.toISOString(),
      tables,
      rawTables,
    },
    ingest: {
      trailgraph: {
        eventsPerSecond: tgRate,
        elapsedSeconds: summary.elapsedMs / 1000,
        wallSeconds: ingested.wallSeconds,
        peakRssBytes: ingested.peakRssBytes,
        processes: ingested.processes,
        polledPeakRssBytes: ingested.polledPeakRssBytes,
        read: summary.read,
        inserted: summary.inserted,
      },
      raw,
      ratio: tgRate / raw.eventsPerSecond,
    },
    settle,
    operations,
    explain,
    profiles,
  };
}

/**
 * Growth: TrailGraph's p50 at each larger size against the smallest, at `focus` connections.
 * The sizes' own steps run many minutes apart, and this host's speed drifts by more than the
 * target's margin in that time; so each operation gets one step whose turns alternate between
 * a server on the smallest dataset and one on the larger (as the TrailGraph/raw steps
 * alternate), each sent the variables drawn from its own dataset.
 */
async function measureGrowth(input: {
  options: Required<Omit<BenchOptions, "log" | "mysqlUrl">>;
  sources: Map<number, DatasetSource>;
  focus: number;
  databasePid: number | null;
  failures: string[];
  log: (line: string) => void;
  cleanups: Array<() => Promise<void>>;
}): Promise<GrowthRow[]> {
  const { options, sources, focus, databasePid, log } = input;
  const [smallest, ...larger] = options.sizes;
  const rows: GrowthRow[] = [];
  for (const events of larger) {
    const from = sources.get(smallest)!;
    const to = sources.get(events)!;
    // Each server is registered as it starts, so a failure to start the other stops it too.
    const started: Server[] = [];
    const stop = async () => {
      for (const server of started.splice(0)) await server.stop();
    };
    input.cleanups.push(stop);
    const servers = await Promise.all(
      [from, to].map((source) =>
        startTrailGraph(source.url, { workers: options.workers }).then((server) => {
          started.push(server);
          return server;
        }),
      ),
    );
    const span = `${smallest.toLocaleString("en-US")} → ${events.toLocaleString("en-US")} events`;
    try {
      for (const op of OPERATIONS) {
        const targets = [from, to].map((source, index) => ({
          url: servers[index].url,
          bodies: source.bodies.get(op.key)!,
          measured: { server: servers[index].pid, database: databasePid },
        }));
        if (options.warmup > 0) {
          for (const target of targets) await runLoad(target.url, target.bodies, focus, options.warmup);
        }
        const [small, large] = await runAlternating(targets, [], focus, options.duration, options.slices);
        checked(small, "trailgraph", op.key, input.failures, `growth ${span}, smaller dataset: `);
        checked(large, "trailgraph", op.key, input.failures, `growth ${span}, larger dataset: `);
        const ratio = large.p50 / small.p50;
        rows.push({
          key: op.key,
          title: op.title,
          connections: focus,
          fromEvents: smallest,
          toEvents: events,
          p50From: small.p50,
          p50To: large.p50,
          ratio,
        });
        log(
          `[growth] ${op.key} c=${focus}, ${span}: p50 ${small.p50.toFixed(2)} → ${large.p50.toFixed(2)} ms, ${ratio.toFixed(2)}×`,
        );
      }
    } finally {
      await stop();
    }
  }
  return rows;
}

/**
 * A load step with an error, a timeout, a non-2xx or GraphQL error response, or no response:
 * recorded in `failures` (the run goes on, the report lists them at the top and `npm run bench`
 * exits 1), or thrown when no list is given.
 */
function checked(result: LoadResult, side: Side, key: OpKey, failures?: string[], where = ""): LoadResult {
  const bad = result.errors + result.timeouts + result.non2xx + result.graphqlErrors;
  if (bad > 0 || result.requests === 0) {
    const message =
      `${where}${side} server, operation ${key}, ${result.connections} connections: ${result.requests} good responses, ` +
      `${result.errors} errors, ${result.timeouts} timeouts, ${result.non2xx} non-2xx, ${result.graphqlErrors} with GraphQL errors. ` +
      `First: ${result.firstError ?? "(none recorded)"}`;
    if (!failures) throw new Error(message);
    failures.push(message);
  }
  return result;
}

/** Does `trailgraph ingest` take a folder of OSS .gz files? (It is being taught to.) */
async function probeFolderIngest(log: (line: string) => void): Promise<SizeReport["dataset"]["inputMode"]> {
  const dir = await mkdtemp(join(os.tmpdir(), "trailgraph-bench-probe-"));
  try {
    const { writeGenerated } = trailgraph.ossWriter();
    await writeGenerated({ events: 40, accounts: 3, seed: 1, days: 1, out: join(dir, "oss"), format: "oss" });
    const result = await runIngest([join(dir, "oss")], `sqlite:${join(dir, "probe.sqlite")}`).catch(() => null);
    if (result && result.summary.inserted === 40) return "oss-folder";
    log("trailgraph ingest does not take a folder of OSS .gz files (yet): ingesting JSON lines files instead");
    return "ndjson-files";
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Longest wait for the database server to settle after the ingests. */
const SETTLE_SECONDS = 300;
/** Dirty pages and undo history entries at or under which the server counts as settled. */
export const SETTLED_AT = 100;

/**
 * Waits until the database server has written out the pages the ingests modified and purged
 * their undo history, so that the read steps measure reads, not the background writing that
 * follows a bulk load (InnoDB's page cleaner goes on for minutes at `innodb_io_capacity`,
 * on the same two cores). `innodb_max_dirty_pages_pct = 0` asks the cleaner to write every
 * dirty page now; it is put back afterwards (a server that refuses it is only waited for).
 */
async function settleDatabase(url: string): Promise<SettleReport> {
  return withConnection(url, async (c) => {
    const status = async () => {
      const [rows] = await c.query(
        "SHOW GLOBAL STATUS WHERE Variable_name IN ('Innodb_buffer_pool_pages_dirty', 'Innodb_history_list_length')",
      );
      const values = new Map(
        (rows as Array<{ Variable_name: string; Value: string }>).map((r) => [r.Variable_name, Number(r.Value)]),
      );
      return {
        dirty: values.get("Innodb_buffer_pool_pages_dirty") ?? 0,
        history: values.get("Innodb_history_list_length") ?? 0,
      };
    };
    const quiet = (state: { dirty: number; history: number }) =>
      state.dirty <= SETTLED_AT && state.history <= SETTLED_AT;
    const [[variable]] = (await c.query("SELECT @@GLOBAL.innodb_max_dirty_pages_pct AS pct")) as unknown as [
      Array<{ pct: number }>,
    ];
    const lowered = await c.query("SET GLOBAL innodb_max_dirty_pages_pct = 0").then(
      () => true,
      () => false,
    );
    const started = performance.now();
    const before = await status();
    let now = before;
    try {
      while (!quiet(now) && performance.now() - started < SETTLE_SECONDS * 1000) {
        await new Promise((resolve) => setTimeout(resolve, 1000));
        now = await status();
      }
    } finally {
      if (lowered) await c.query("SET GLOBAL innodb_max_dirty_pages_pct = ?", [Number(variable.pct)]);
    }
    return {
      seconds: (performance.now() - started) / 1000,
      dirtyPagesBefore: before.dirty,
      dirtyPagesAfter: now.dirty,
      historyBefore: before.history,
      historyAfter: now.history,
      settled: quiet(now),
    };
  });
}

async function withConnection<T>(url: string, use: (connection: Connection) => Promise<T>): Promise<T> {
  const connection = await createConnection({
    uri: url,
    timezone: "Z",
    supportBigNumbers: true,
    bigNumberStrings: false,
  });
  try {
    return await use(connection);
  } finally {
    await connection.end();
  }
}

/** Accounts with their event counts, a random sample of event IDs, the time range. */
export async function readFacts(url: string, seed: number): Promise<DatasetFacts> {
  return withConnection(url, async (c) => {
    const [accounts] = (await c.query(
      "SELECT account_id, COUNT(*) AS n FROM events WHERE account_id IS NOT NULL GROUP BY account_id ORDER BY account_id",
    )) as unknown as [Array<{ account_id: string; n: number }>];
    const [[range]] = (await c.query(
      "SELECT MIN(event_time) AS min_t, MAX(event_time) AS max_t, MIN(pk) AS min_pk, MAX(pk) AS max_pk FROM events",
    )) as unknown as [Array<{ min_t: Date; max_t: Date; min_pk: number; max_pk: number }>];
    const random = mulberry32(seed ^ 0x5eed);
    const pks = new Set<number>();
    const span = Number(range.max_pk) - Number(range.min_pk) + 1;
    while (pks.size < Math.min(2000, span)) pks.add(Number(range.min_pk) + Math.floor(random() * span));
    const [ids] = (await c.query(`SELECT event_id FROM events WHERE pk IN (?) ORDER BY pk`, [[...pks]])) as unknown as [
      Array<{ event_id: string }>,
    ];
    return {
      accounts: accounts.map((row) => ({ accountId: row.account_id, events: Number(row.n) })),
      eventIds: ids.map((row) => row.event_id),
      minTime: range.min_t,
      maxTime: range.max_t,
    };
  });
}

function rawPool(url: string) {
  return createPool({
    uri: url,
    connectionLimit: 2,
    timezone: "Z",
    charset: "utf8mb4_bin",
    supportBigNumbers: true,
    bigNumberStrings: false,
    stringifyObjects: true,
  });
}

/**
 * SQL statements per operation, counted in-process: TrailGraph's schema executed with
 * graphql() and a fresh Context per request (statementCounter of its DataSource), and the raw
 * code with a counting query function. Both must answer the same data.
 */
async function countStatements(
  url: string,
  sets: Map<OpKey, Variables[]>,
  log: (line: string) => void,
): Promise<Map<OpKey, OperationReport["statements"]>> {
  const { createDataSource, storeConfig, statementCounter } = trailgraph.datasource();
  const { Context } = trailgraph.context();
  const { TenantScope } = trailgraph.scope();
  const { graphql } = trailgraph.graphql();
  const schema = await trailgraphSchema();
  const dataSource = createDataSource(storeConfig(url));
  await dataSource.initialize();
  const pool = rawPool(url);
  const counter = statementCounter(dataSource);
  // Every statement TrailGraph sends, to hold the raw mirror to the very same SQL.
  let sent: Statement[] = [];
  const logQuery = counter.logQuery.bind(counter);
  counter.logQuery = (sql, params, runner) => {
    sent.push({ sql, params: params ?? [] });
    logQuery(sql, params, runner);
  };
  const result = new Map<OpKey, OperationReport["statements"]>();
  try {
    for (const op of OPERATIONS) {
      let tgTotal = 0;
      let tgMax = 0;
      let rawTotal = 0;
      const samples = sets.get(op.key)!.slice(0, STATEMENT_SAMPLES);
      for (const variables of samples) {
        const before = counter.count;
        sent = [];
        const executed = await graphql({
          schema,
          source: op.query,
          operationName: op.operationName,
          variableValues: variables,
          contextValue: new Context(dataSource, TenantScope.all()),
        });
        const used = counter.count - before;
        tgTotal += used;
        tgMax = Math.max(tgMax, used);
        if (executed.errors?.length)
          throw new Error(`TrailGraph ${op.key} ${JSON.stringify(variables)}: ${JSON.stringify(executed.errors)}`);
        const mirrored: Statement[] = [];
        const data = await runRaw(op.key, variables, async (sql, params) => {
          mirrored.push({ sql, params });
          const [rows] = await pool.query(sql, params);
          return rows as Row[];
        });
        rawTotal += mirrored.length;
        const difference = firstDifference(sent, mirrored);
        if (difference) {
          throw new Error(
            `bench/raw-sql.ts no longer sends the SQL TrailGraph sends for ${op.key} ${JSON.stringify(variables)} ` +
              `(update the mirror; TRAILGRAPH_LOG_SQL=1 shows TrailGraph's statements): ${difference}`,
          );
        }
        if (!isDeepStrictEqual(JSON.parse(JSON.stringify(executed.data)), JSON.parse(JSON.stringify(data)))) {
          throw new Error(
            `the raw code answers ${op.key} ${JSON.stringify(variables)} differently from TrailGraph:\n` +
              `trailgraph: ${JSON.stringify(executed.data).slice(0, 1500)}\nraw:        ${JSON.stringify(data).slice(0, 1500)}`,
          );
        }
      }
      result.set(op.key, {
        trailgraph: tgTotal / samples.length,
        raw: rawTotal / samples.length,
        trailgraphMax: tgMax,
        samples: samples.length,
      });
      log(
        `statements per request, ${op.key}: trailgraph ${tgTotal / samples.length}, raw ${rawTotal / samples.length}`,
      );
    }
  } finally {
    await pool.end();
    await dataSource.destroy();
  }
  return result;
}

interface Statement {
  sql: string;
  params: unknown[];
}

/** Where two statement lists differ (text or parameters), or null. */
function firstDifference(trailgraph: Statement[], raw: Statement[]): string | null {
  for (let i = 0; i < Math.max(trailgraph.length, raw.length); i++) {
    const a = trailgraph[i];
    const b = raw[i];
    if (!a || !b) {
      return `TrailGraph sent ${trailgraph.length} statements, the mirror ${raw.length}; first unmatched: ${JSON.stringify((a ?? b).sql).slice(0, 400)}`;
    }
    if (a.sql !== b.sql)
      return `statement ${i + 1}:\n  trailgraph: ${a.sql.slice(0, 600)}\n  mirror:     ${b.sql.slice(0, 600)}`;
    if (JSON.stringify(a.params) !== JSON.stringify(b.params)) {
      return `statement ${i + 1} parameters: trailgraph ${JSON.stringify(a.params).slice(0, 300)}, mirror ${JSON.stringify(b.params).slice(0, 300)}`;
    }
  }
  return null;
}

let schemaPromise: ReturnType<typeof buildSchemaOnce> | undefined;
function buildSchemaOnce() {
  return trailgraph.schema().buildTrailGraphSchema();
}
function trailgraphSchema() {
  return (schemaPromise ??= buildSchemaOnce());
}

/** Both servers answer the first requests of each operation with the same JSON. */
async function compareOverHttp(tgUrl: string, rawUrl: string, bodies: Map<OpKey, string[]>): Promise<void> {
  for (const [key, list] of bodies) {
    for (const body of list.slice(0, 3)) {
      const [tg, raw] = await Promise.all(
        [tgUrl, rawUrl].map(async (url) => {
          const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body });
          return { status: response.status, json: (await response.json()) as Record<string, unknown> };
        }),
      );
      if (tg.status !== 200 || tg.json.errors || !isDeepStrictEqual(tg.json, raw.json)) {
        throw new Error(
          `operation ${key} over HTTP: trailgraph ${tg.status} ${JSON.stringify(tg.json).slice(0, 1000)}\n` +
            `raw ${raw.status} ${JSON.stringify(raw.json).slice(0, 1000)}`,
        );
      }
    }
  }
}

/** ANALYZE (MariaDB) / EXPLAIN (MySQL) of every statement of each operation, for the busiest account. */
async function explainOperations(
  url: string,
  facts: DatasetFacts,
  sets: Map<OpKey, Variables[]>,
): Promise<ExplainReport[]> {
  const busiest = [...facts.accounts].sort((a, b) => b.events - a.events)[0].accountId;
  const reports: ExplainReport[] = [];
  const pool = rawPool(url);
  const connection = await pool.getConnection();
  try {
    const [[{ v }]] = (await connection.query("SELECT VERSION() AS v")) as unknown as [Array<{ v: string }>];
    const analyze = /mariadb/i.test(v) ? "ANALYZE" : "EXPLAIN";
    const status = async () => {
      const [rows] = (await connection.query(
        `SHOW SESSION STATUS WHERE Variable_name IN (${COUNTERS.map(() => "?").join(", ")})`,
        COUNTERS,
      )) as unknown as [Array<{ Variable_name: string; Value: string }>];
      return new Map(rows.map((row) => [row.Variable_name, Number(row.Value)]));
    };
    // What reading the counters itself moves (SHOW STATUS uses a temporary table).
    const [s0, s1] = [await status(), await status()];
    const overhead = new Map(COUNTERS.map((name) => [name, (s1.get(name) ?? 0) - (s0.get(name) ?? 0)]));
    for (const op of OPERATIONS) {
      const first = sets.get(op.key)![0];
      const variables = op.key === "b" ? first : { ...first, a: busiest };
      const statements: ExplainReport["statements"] = [];
      await runRaw(op.key, variables, async (sql, params) => {
        const before = await status();
        const [rows] = await connection.query(sql, params);
        const after = await status();
        const counters: Record<string, number> = {};
        for (const name of COUNTERS) {
          counters[name] = (after.get(name) ?? 0) - (before.get(name) ?? 0) - (overhead.get(name) ?? 0);
        }
        const times: number[] = [];
        for (let i = 0; i < 5; i++) {
          const began = performance.now();
          await connection.query(sql, params);
          times.push(performance.now() - began);
        }
        const formatted = connection.format(sql, params);
        const [plan] = (await connection.query(`${analyze} ${formatted}`)) as unknown as [
          Array<Record<string, unknown>>,
        ];
        statements.push({
          sql: formatted,
          plan: plan.map((row) => ({
            table: text(row.table),
            type: text(row.type),
            key: text(row.key),
            rows: text(row.rows),
            rRows: text(row.r_rows),
            extra: text(row.Extra),
          })),
          medianMs: times.sort((a, b) => a - b)[2],
          counters,
        });
        return rows as Row[];
      });
      reports.push({ key: op.key, variables, statements });
    }
  } finally {
    connection.release();
    await pool.end();
  }
  return reports;
}

function text(value: unknown): string | null {
  return value === null || value === undefined ? null : String(value);
}

/** The serve process under load for one operation, with V8's CPU profiler on. */
async function profileOperation(
  run: SizeRun,
  url: string,
  key: OpKey,
  bodies: string[],
  work: string,
): Promise<ProfileReport> {
  const dir = join(work, "profiles");
  await mkdir(dir, { recursive: true });
  const name = `serve-${key}.cpuprofile`;
  run.log(`[profile] ${key}: trailgraph serve under --cpu-prof, ${run.focus} connections, ${run.options.duration} s`);
  const server = await startTrailGraph(url, {
    nodeArgs: ["--cpu-prof", `--cpu-prof-dir=${dir}`, `--cpu-prof-name=${name}`],
  });
  let load: LoadResult;
  let fromUs: number;
  let toUs: number;
  try {
    if (run.options.warmup > 0) await runLoad(server.url, bodies, run.focus, run.options.warmup);
    // Only the measured load counts, not the start-up (module loading) nor the warm-up.
    fromUs = Number(process.hrtime.bigint() / 1000n);
    load = checked(
      await runLoad(server.url, bodies, run.focus, run.options.duration, { server: server.pid }),
      "trailgraph",
      key,
      run.failures,
      "CPU profile run: ",
    );
    toUs = Number(process.hrtime.bigint() / 1000n);
  } finally {
    await server.stop();
  }
  const file = join(dir, name);
  await waitForFile(file);
  return {
    what: key,
    connections: run.focus,
    requestsPerSecond: load.requestsPerSecond,
    file,
    summary: summarizeProfile(file, { fromUs, toUs }),
  };
}

/** `trailgraph ingest` of the dataset into another fresh database, with V8's CPU profiler on. */
async function profileIngestRun(run: SizeRun, inputs: string[], work: string): Promise<ProfileReport> {
  const dir = join(work, "profiles");
  await mkdir(dir, { recursive: true });
  const db = await createTestDatabase(run.serverUrl, `tg_bench_${run.runId}_${run.events}_prof`);
  try {
    await runCli(["migrate"], db.url);
    run.log(`[profile] trailgraph ingest of ${run.events} events under --cpu-prof`);
    const before = new Set(await readdir(dir));
    const ingested = await runIngest(inputs, db.url, ["--cpu-prof", `--cpu-prof-dir=${dir}`]);
    // The flags reach the child the CLI forks with a bounded heap too, and both processes write a
    // profile (CPU.<date>.<time>.<pid>.<thread>.<n>.cpuprofile): the one of the worker counts.
    const worker = ingested.processes.find((p) => p.forked) ?? ingested.processes[0];
    const written = (await readdir(dir)).filter((name) => !before.has(name) && name.endsWith(".cpuprofile"));
    const file = written.find((name) => name.split(".")[3] === String(worker.pid)) ?? written[0];
    if (!file) throw new Error("the profiled ingest wrote no profile");
    return {
      what: "ingest",
      connections: null,
      requestsPerSecond: null,
      file: join(dir, file),
      summary: summarizeProfile(join(dir, file)),
    };
  } finally {
    if (!run.options.keep) await db.drop();
  }
}

async function waitForFile(file: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (existsSync(file) && statSync(file).size > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no CPU profile at ${file}`);
}

function evaluateTargets(report: BenchReport, size: SizeReport): TargetResult[] {
  const focus = report.focusConnections;
  const at = (key: OpKey) => size.operations.find((op) => op.key === key)!.runs.find((r) => r.connections === focus)!;
  const pct = (ratio: number) => `${(ratio * 100).toFixed(0)}%`;
  const targets: TargetResult[] = [];
  const c = at("c");
  targets.push({
    target: `c: ≥ 50% of raw req/s at ${focus} connections`,
    measured: `${pct(c.ratio)} (${c.trailgraph.requestsPerSecond.toFixed(0)} vs ${c.raw.requestsPerSecond.toFixed(0)} req/s)`,
    met: c.ratio >= 0.5,
  });
  targets.push({
    target: `c: p99 < 50 ms at ${focus} connections`,
    measured: `${c.trailgraph.p99.toFixed(1)} ms`,
    met: c.trailgraph.p99 < 50,
  });
  for (const key of ["a", "b"] as const) {
    const pair = at(key);
    targets.push({
      target: `${key}: ≥ 60% of raw req/s at ${focus} connections`,
      measured: `${pct(pair.ratio)} (${pair.trailgraph.requestsPerSecond.toFixed(0)} vs ${pair.raw.requestsPerSecond.toFixed(0)} req/s)`,
      met: pair.ratio >= 0.6,
    });
  }
  targets.push({
    target: "ingest: ≥ 50% of raw INSERT throughput",
    measured: `${pct(size.ingest.ratio)} (${size.ingest.trailgraph.eventsPerSecond.toFixed(0)} vs ${size.ingest.raw.eventsPerSecond.toFixed(0)} events/s)`,
    met: size.ingest.ratio >= 0.5,
  });
  targets.push({
    target: "ingest: peak RSS < 300 MB",
    measured: `${(size.ingest.trailgraph.peakRssBytes / 2 ** 20).toFixed(0)} MB`,
    met: size.ingest.trailgraph.peakRssBytes < RSS_LIMIT_BYTES,
  });
  for (const big of report.bigFiles ?? []) {
    targets.push({
      target: `${bigFileLabel(big)}: peak RSS < 300 MB`,
      measured:
        `${(big.peakRssBytes / 2 ** 20).toFixed(0)} MB (${big.events.toLocaleString("en-US")} events, ` +
        `${Math.round(big.eventsPerSecond)} events/s)`,
      met: big.peakRssBytes < RSS_LIMIT_BYTES,
    });
  }
  const base = report.sizes[0];
  for (const row of report.growth.filter((g) => g.toEvents === size.events && g.fromEvents === base.events)) {
    targets.push({
      target: `${row.key}: p50 at ${row.toEvents.toLocaleString("en-US")} ≤ 1.5 × p50 at ${row.fromEvents.toLocaleString("en-US")}`,
      measured: `${row.ratio.toFixed(2)}× (${row.p50From.toFixed(2)} → ${row.p50To.toFixed(2)} ms)`,
      met: row.ratio <= 1.5,
    });
  }
  return targets;
}

/** "1 GB JSON lines", "1 GB JSON array" (MB and GB of 2^20 and 2^30 bytes, as everywhere in the report). */
export function bigFileLabel(big: Pick<BigFileReport, "format" | "bytes">): string {
  const size =
    big.bytes >= 2 ** 30 * 0.95
      ? `${Number((big.bytes / 2 ** 30).toFixed(1))} GB`
      : `${Math.round(big.bytes / 2 ** 20)} MB`;
  return `${size} ${big.format === "ndjson" ? "JSON lines" : "JSON array"}`;
}

export interface BigFileOptions {
  serverUrl: string;
  runId: string;
  /** Target size of each file, bytes. */
  bytes: number;
  accounts: number;
  seed: number;
  days: number;
  keep?: boolean;
  log: (line: string) => void;
}

/** `benchBigFiles`: write the two files, ingest each once, remove them. */
export async function benchBigFiles(options: BigFileOptions): Promise<BigFileReport[]> {
  const files = await writeBigFiles(options);
  try {
    const reports: BigFileReport[] = [];
    for (const file of files.files) reports.push(await ingestBigFile(file, options));
    return reports;
  } finally {
    if (!options.keep) await files.remove();
  }
}

export interface BigFile {
  format: BigFileReport["format"];
  path: string;
  events: number;
  bytes: number;
  generateSeconds: number;
}

/**
 * One JSON lines file of about `bytes` bytes, written by the project's generator
 * (`writeGenerated`, format ndjson: what `trailgraph generate --format ndjson` writes), and the
 * same events as one JSON array, written from it by streaming. Neither is ever held in memory.
 */
export async function writeBigFiles(
  options: Pick<BigFileOptions, "bytes" | "accounts" | "seed" | "days" | "log">,
): Promise<{ files: BigFile[]; remove(): Promise<void> }> {
  const { log } = options;
  const work = await mkdtemp(join(os.tmpdir(), "trailgraph-bench-big-"));
  const removeNow = () => rmSync(work, { recursive: true, force: true });
  process.on("exit", removeNow);
  const remove = async () => {
    process.removeListener("exit", removeNow);
    await rm(work, { recursive: true, force: true });
  };
  try {
    const generate = { accounts: options.accounts, seed: options.seed, days: options.days };
    const { writeGenerated } = trailgraph.ossWriter();
    const { generateEvents } = trailgraph.generator();
    // Events for the size: the mean line of a sample with the same generator settings.
    let sampleBytes = 0;
    let sampleEvents = 0;
    for (const event of generateEvents({ ...generate, events: 5000 })) {
      sampleBytes += Buffer.byteLength(JSON.stringify(event)) + 1;
      sampleEvents++;
    }
    const events = Math.max(1, Math.round(options.bytes / (sampleBytes / sampleEvents)));

    log(`[big files] generating ${events.toLocaleString("en-US")} events as one JSON lines file`);
    let began = performance.now();
    const lines = await writeGenerated({
      ...generate,
      events,
      out: join(work, "lines"),
      format: "ndjson",
      maxFileBytes: Number.MAX_SAFE_INTEGER,
    });
    if (lines.files !== 1) throw new Error(`expected one JSON lines file, got ${lines.files}`);
    const linesFile = join(work, "lines", "events.ndjson");
    const linesSeconds = (performance.now() - began) / 1000;
    log(
      `[big files] ${(lines.bytes / 1e6).toFixed(1)} MB in ${linesSeconds.toFixed(1)} s; the same events as one JSON array`,
    );
    began = performance.now();
    const arrayFile = join(work, "events.json");
    await writeJsonArray(linesFile, arrayFile);
    const arraySeconds = (performance.now() - began) / 1000;
    return {
      files: [
        { format: "ndjson", path: linesFile, events, bytes: lines.bytes, generateSeconds: linesSeconds },
        {
          format: "array",
          path: arrayFile,
          events,
          bytes: (await stat(arrayFile)).size,
          generateSeconds: linesSeconds + arraySeconds,
        },
      ],
      remove,
    };
  } catch (error) {
    await remove();
    throw error;
  }
}

/**
 * `trailgraph ingest --json <file>` into a fresh migrated database (dropped afterwards: it
 * holds gigabytes); `env` and `nodeArgs` go to the CLI (e.g. TRAILGRAPH_INGEST_HEAP_MB).
 */
export async function ingestBigFile(
  file: BigFile,
  options: Pick<BigFileOptions, "serverUrl" | "runId" | "keep" | "log"> & {
    env?: Record<string, string | undefined>;
    nodeArgs?: string[];
    /** Distinguishes the databases of several ingests of one file. */
    tag?: string;
  },
): Promise<BigFileReport> {
  const label = bigFileLabel(file);
  const db = await createTestDatabase(
    options.serverUrl,
    `tg_bench_${options.runId}_big_${file.format}${options.tag ? `_${options.tag}` : ""}`,
  );
  try {
    await runCli(["migrate"], db.url);
    options.log(`[big files] trailgraph ingest --json <${label}: ${(file.bytes / 1e6).toFixed(1)} MB>`);
    const run = await runIngest([file.path], db.url, options.nodeArgs ?? [], options.env ?? {});
    const rejected = typeof run.summary.rejected === "number" ? run.summary.rejected : run.summary.rejected.length;
    if (rejected > 0 || run.summary.inserted !== file.events) {
      throw new Error(
        `trailgraph ingest of the ${label} file stored ${run.summary.inserted} of ${file.events} events, ` +
          `rejected ${rejected}: ${JSON.stringify((run.summary.rejects ?? run.summary.rejected) as unknown).slice(0, 1000)}`,
      );
    }
    const report: BigFileReport = {
      format: file.format,
      events: file.events,
      bytes: file.bytes,
      generateSeconds: file.generateSeconds,
      ...ingestFigures(run),
    };
    options.log(
      `[big files] ${label}: ${Math.round(report.eventsPerSecond)} events/s, ${report.wallSeconds.toFixed(1)} s, ` +
        `peak RSS ${describePeaks(run.processes)}`,
    );
    return report;
  } finally {
    if (!options.keep) await db.drop();
  }
}

/** "231 MiB (forked child), 43 MiB (CLI)". */
export function describePeaks(processes: IngestRun["processes"]): string {
  return processes
    .map((p) => `${(p.peakRssBytes / 2 ** 20).toFixed(0)} MiB (${p.forked ? "forked child" : "CLI"})`)
    .join(", ");
}

/** The events of a JSON lines file as one JSON array (`[\n` … `,\n` … `\n]\n`), by streaming. */
async function writeJsonArray(linesFile: string, arrayFile: string): Promise<void> {
  await pipeline(
    createReadStream(linesFile, { highWaterMark: 1 << 20 }),
    async function* (chunks: AsyncIterable<Buffer>) {
      yield Buffer.from("[\n");
      // A newline only separates two events once another event follows it. JSON.stringify
      // writes no raw newline, and UTF-8 multi-byte sequences hold no 0x0a byte, so latin1
      // text maps every byte to itself.
      let pending = false;
      for await (const chunk of chunks) {
        if (chunk.length === 0) continue;
        const text = chunk.toString("latin1");
        const ends = text.endsWith("\n");
        const body = (ends ? text.slice(0, -1) : text).replaceAll("\n", ",\n");
        yield Buffer.from((pending ? ",\n" : "") + body, "latin1");
        pending = ends;
      }
      yield Buffer.from("\n]\n");
    },
    createWriteStream(arrayFile),
  );
}

function machine(): BenchReport["machine"] {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? "?",
    cores: cpus.length,
    memoryBytes: os.totalmem(),
    os: `${os.type()} ${os.release()} (${os.arch()})`,
  };
}

function versions(): Record<string, string> {
  const result: Record<string, string> = { node: process.versions.node };
  for (const name of [
    "@apollo/server",
    "@as-integrations/fastify",
    "fastify",
    "graphql",
    "type-graphql",
    "graphql-scalars",
    "dataloader",
    "typeorm",
    "mysql2",
    "autocannon",
  ]) {
    result[name] = packageVersion(name);
  }
  return result;
}
