import cluster, { type Worker } from "node:cluster";
import { timingSafeEqual } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { AggregatorRegistry, collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { DataSource } from "typeorm";
import { AuthError, type Authenticator } from "../auth/credentials";
import { SettingsError } from "../auth/settings";
import { StatementCounter } from "../db/statement-counter";
import { observeIngests, type IngestSummary } from "../ingest/ingest";

export const METRICS_PATH = "/metrics";

export interface MetricsSettings {
  /** GET /metrics answers (TRAILGRAPH_METRICS, on unless `off`); off: 404, and nothing is measured. */
  enabled: boolean;
  /** A bearer token that may read /metrics whatever the authentication (TRAILGRAPH_METRICS_TOKEN). */
  token: string | null;
}

/** TRAILGRAPH_METRICS (on|off, default on) and TRAILGRAPH_METRICS_TOKEN. */
export function metricsSettings(env: NodeJS.ProcessEnv = process.env): MetricsSettings {
  const value = env.TRAILGRAPH_METRICS?.trim().toLowerCase() ?? "";
  let enabled: boolean;
  if (["", "on", "1", "true"].includes(value)) enabled = true;
  else if (["off", "0", "false"].includes(value)) enabled = false;
  else throw new SettingsError(`TRAILGRAPH_METRICS '${env.TRAILGRAPH_METRICS}' is neither on nor off.`);
  const token = env.TRAILGRAPH_METRICS_TOKEN?.trim() || null;
  // A short token could be guessed by a scraper that tries them all.
  if (token !== null && token.length < 16) {
    throw new SettingsError("TRAILGRAPH_METRICS_TOKEN is shorter than 16 characters: use a long random string.");
  }
  return { enabled, token };
}

/**
 * Operation names are chosen by clients: only the first this many distinct ones get a label
 * value of their own, every later one is counted as `other`, so that no client can grow the
 * registry (and every scrape) without bound.
 */
export const MAX_OPERATION_LABELS = 200;
/** A longer name is `other` too: 200 names of a megabyte each would be a bound in name only. */
const MAX_OPERATION_NAME_LENGTH = 100;
/** Error codes come from this server, but a bound costs nothing. */
const MAX_ERROR_CODES = 50;

/**
 * Refusals of an operation before it runs (cost limits, budgets, credentials, trusted documents),
 * and operations stopped while they ran (deadline, answer size, client gone: src/server/deadline.ts).
 */
export const REFUSAL_CODES: readonly string[] = [
  "TOO_MANY_TOKENS",
  "OPERATION_TOO_DEEP",
  "TOO_MANY_ALIASES",
  "TOO_MANY_DIRECTIVES",
  "TOO_MANY_REPEATS",
  "OPERATION_TOO_COSTLY",
  "RATE_LIMITED",
  "UNAUTHENTICATED",
  "FORBIDDEN",
  "SERVICE_UNAVAILABLE",
  "OPERATION_NOT_TRUSTED",
  "DEADLINE_EXCEEDED",
  "RESPONSE_TOO_LARGE",
  "CLIENT_CLOSED",
];
const REFUSALS = new Set(REFUSAL_CODES);

type RequestLabels = "route" | "operation" | "status";

interface MysqlPoolInternals {
  _allConnections?: { length: number };
  _freeConnections?: { length: number };
  _connectionQueue?: { length: number };
}

/**
 * The service's figures for Prometheus, in a Registry of this app's own (never prom-client's
 * global one: tests and several apps in one process each count their own). Everything on a
 * request's path is a counter increment or a histogram observation; the pool's figures are
 * read when scraped.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly requestSeconds: Histogram<RequestLabels>;
  /** One histogram child per label set: observing through a child skips prom-client's label hashing. */
  private readonly requestChildren = new Map<string, { observe(value: number): void }>();
  private readonly operations = new Set<string>();
  private readonly errors: Counter<"code">;
  private readonly errorCodes = new Set<string>();
  private readonly refusals: Counter<"reason">;
  private readonly sqlSeconds: Histogram;
  private readonly ingest: Record<"read" | "inserted" | "rejected" | "duplicates" | "files", Counter>;
  /** Stops timing the DataSource's reads and counting its ingests (the app closes). */
  readonly detach: () => void;
  /** The newest event time ingested by this process, ms; null before the first. */
  private newestEventMs: number | null = null;

  constructor(
    private readonly dataSource: DataSource,
    private readonly maxOperations = MAX_OPERATION_LABELS,
  ) {
    const registers = [this.registry];
    this.requestSeconds = new Histogram({
      name: "trailgraph_http_request_duration_seconds",
      help: "HTTP requests by route, GraphQL operation name (bounded: later names are `other`) and status",
      labelNames: ["route", "operation", "status"],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.errors = new Counter({
      name: "trailgraph_graphql_errors_total",
      help: "Errors in GraphQL answers, by code",
      labelNames: ["code"],
      registers,
    });
    this.refusals = new Counter({
      name: "trailgraph_refused_operations_total",
      help: "Operations refused before they ran, by reason (the answer's code)",
      labelNames: ["reason"],
      registers,
    });
    // Every reason from zero, so that a rate() sees the first refusal.
    for (const reason of REFUSAL_CODES) this.refusals.inc({ reason }, 0);

    const counter = dataSource.logger instanceof StatementCounter ? dataSource.logger : null;
    let counted = 0;
    new Counter({
      name: "trailgraph_sql_statements_total",
      help: "SQL statements sent to the database, reads and writes",
      registers,
      collect() {
        // The counter may be reset (tests count from zero): count on from its new value.
        const now = counter?.count ?? 0;
        this.inc(now >= counted ? now - counted : now);
        counted = now;
      },
    });
    this.sqlSeconds = new Histogram({
      name: "trailgraph_sql_read_duration_seconds",
      help: "Time of the read side's SQL statements, from sending to the last row",
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    const onRead = (ms: number) => this.sqlSeconds.observe(ms / 1000);
    if (counter) counter.onRead = onRead;

    const pool = () => this.pool();
    new Gauge({
      name: "trailgraph_db_pool_connections",
      help: "Database connections open, by state (in_use, idle); SQLite: its one connection",
      labelNames: ["state"],
      registers,
      collect() {
        const figures = pool();
        this.set({ state: "in_use" }, figures.open - figures.idle);
        this.set({ state: "idle" }, figures.idle);
      },
    });
    new Gauge({
      name: "trailgraph_db_pool_waiting_requests",
      help: "Requests waiting for a database connection",
      registers,
      collect() {
        this.set(pool().waiting);
      },
    });

    const ingestCounter = (name: string, help: string) =>
      new Counter({ name: `trailgraph_ingest_${name}_total`, help, registers });
    this.ingest = {
      read: ingestCounter("records_read", "Records read by POST /ingest"),
      inserted: ingestCounter("records_inserted", "Events stored by POST /ingest"),
      rejected: ingestCounter("records_rejected", "Records rejected by POST /ingest"),
      duplicates: ingestCounter("records_duplicate", "Events POST /ingest had already stored"),
      files: ingestCounter("files", "Sources (pushed bodies) read by POST /ingest"),
    };
    const newest = () => this.newestEventMs;
    new Gauge({
      name: "trailgraph_ingest_newest_event_age_seconds",
      help: "Age of the newest event this process ingested (+Inf before the first); of several workers, the youngest",
      registers,
      aggregator: "min",
      collect() {
        const ms = newest();
        this.set(ms === null ? Infinity : (Date.now() - ms) / 1000);
      },
    });
    const observer = (summary: IngestSummary, newestEventMs: number | null) => this.ingested(summary, newestEventMs);
    observeIngests(dataSource, observer);
    // The DataSource outlives the app (tests open several apps on one store): stop watching it.
    this.detach = () => {
      if (counter?.onRead === onRead) counter.onRead = null;
      observeIngests(dataSource, observer, false);
    };

    collectDefaultMetrics({ register: this.registry });
    // Under `serve --workers N` the primary asks every worker's registry (src/server/workers.ts).
    if (cluster.isWorker) {
      AggregatorRegistry.setRegistries([this.registry]);
      new AggregatorRegistry();
    }
  }

  /** After each response (Fastify's onResponse): its duration, and its refusal or error when it never reached Apollo. */
  responded(request: FastifyRequest, status: number, ms: number): void {
    const route = request.routeOptions.url ?? "unmatched";
    const name = request.operationName;
    const operation = route === "/graphql" ? (name === null ? "anonymous" : this.operationLabel(name)) : "";
    const key = `${status} ${route} ${operation}`;
    let child = this.requestChildren.get(key);
    if (!child) {
      child = this.requestSeconds.labels({ route, operation, status });
      this.requestChildren.set(key, child);
    }
    child.observe(ms / 1000);
    const code = request.errorCode;
    if (code === null) return;
    if (REFUSALS.has(code)) this.refusals.inc({ reason: code });
    // An answer from Apollo had its errors counted by errorsAnswered; this one did not reach it.
    if (request.store === null) this.error(code);
  }

  /** The codes of a GraphQL answer's errors. */
  errorsAnswered(errors: ReadonlyArray<{ extensions?: Record<string, unknown> }>): void {
    for (const error of errors) {
      const code = error.extensions?.code;
      this.error(typeof code === "string" ? code : "INTERNAL_SERVER_ERROR");
    }
  }

  /** The label of a client's operation name: its own for the first names seen, then `other`. */
  private operationLabel(name: string): string {
    if (this.operations.has(name)) return name;
    if (this.operations.size >= this.maxOperations || name.length > MAX_OPERATION_NAME_LENGTH) return "other";
    this.operations.add(name);
    return name;
  }

  private error(code: string): void {
    if (!this.errorCodes.has(code)) {
      if (this.errorCodes.size >= MAX_ERROR_CODES) code = "other";
      else this.errorCodes.add(code);
    }
    this.errors.inc({ code });
  }

  private ingested(summary: IngestSummary, newestEventMs: number | null): void {
    this.ingest.read.inc(summary.read);
    this.ingest.inserted.inc(summary.inserted);
    this.ingest.rejected.inc(summary.rejected);
    this.ingest.duplicates.inc(summary.duplicates);
    this.ingest.files.inc(summary.files);
    if (newestEventMs !== null && (this.newestEventMs === null || newestEventMs > this.newestEventMs))
      this.newestEventMs = newestEventMs;
  }

  /** mysql2's pool as it is now (read only when scraped); SQLite: its one connection, never busy between statements. */
  private pool(): { open: number; idle: number; waiting: number } {
    if (this.dataSource.options.type === "better-sqlite3") {
      const open = this.dataSource.isInitialized ? 1 : 0;
      return { open, idle: open, waiting: 0 };
    }
    const pool = (this.dataSource.driver as unknown as { pool?: MysqlPoolInternals }).pool;
    return {
      open: pool?._allConnections?.length ?? 0,
      idle: pool?._freeConnections?.length ?? 0,
      waiting: pool?._connectionQueue?.length ?? 0,
    };
  }

  /** The text a scrape answers: in a worker of `serve --workers N`, the whole service's. */
  async exposition(): Promise<{ contentType: string; text: string }> {
    if (cluster.isWorker && process.send) return { contentType: this.registry.contentType, text: await askPrimary() };
    return { contentType: this.registry.contentType, text: await this.registry.metrics() };
  }
}

/**
 * GET /metrics. Its figures name operations and show how busy the service is, so with
 * authentication on only a credential for every account, or TRAILGRAPH_METRICS_TOKEN, reads
 * them; in open mode, anyone who reaches the port (as for everything else).
 */
export function registerMetricsRoute(
  app: FastifyInstance,
  metrics: Metrics,
  options: {
    token: string | null;
    authenticator: Authenticator;
    refuse: (request: FastifyRequest, reply: FastifyReply, error: AuthError) => FastifyReply;
  },
): void {
  const token = options.token === null ? null : Buffer.from(options.token);
  app.get(METRICS_PATH, async (request, reply) => {
    if (token === null || !presents(request.headers.authorization, token)) {
      try {
        const principal = await options.authenticator.authenticate(request);
        if (!principal.scope.unrestricted) {
          throw new AuthError(
            "GET /metrics needs a credential for every account, or the metrics token (TRAILGRAPH_METRICS_TOKEN).",
            403,
          );
        }
      } catch (error) {
        if (!(error instanceof AuthError)) throw error;
        return options.refuse(request, reply, error);
      }
    }
    const { contentType, text } = await metrics.exposition();
    return reply.header("content-type", contentType).header("cache-control", "no-store").send(text);
  });
}

function presents(header: string | undefined, token: Buffer): boolean {
  const match = /^Bearer\s+(.+)$/i.exec(header ?? "");
  if (!match) return false;
  const given = Buffer.from(match[1]!.trim());
  return given.length === token.length && timingSafeEqual(given, token);
}

const ASK = "trailgraph:metrics";
const ANSWER = "trailgraph:metrics-answer";
/** prom-client's primary gives up on workers after 5 s; this waits a little longer for its answer. */
const ASK_TIMEOUT_MS = 6_000;

interface Answer {
  type: typeof ANSWER;
  id: number;
  text?: string;
  error?: string;
}

let asked = 0;
const waiting = new Map<number, { resolve: (text: string) => void; reject: (error: Error) => void }>();

/** A worker's scrape: the primary gathers every worker's registry (prom-client's AggregatorRegistry) and answers the sum. */
function askPrimary(): Promise<string> {
  if (asked === 0) {
    process.on("message", (message: Answer) => {
      if (message?.type !== ANSWER) return;
      const pending = waiting.get(message.id);
      if (!pending) return;
      waiting.delete(message.id);
      if (message.text !== undefined) pending.resolve(message.text);
      else pending.reject(new Error(`the primary could not gather the workers' metrics: ${message.error}`));
    });
  }
  const id = ++asked;
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      waiting.delete(id);
      reject(new Error("the primary did not answer for the workers' metrics"));
    }, ASK_TIMEOUT_MS);
    waiting.set(id, {
      resolve: (text) => (clearTimeout(timer), resolve(text)),
      reject: (error) => (clearTimeout(timer), reject(error)),
    });
    process.send!({ type: ASK, id });
  });
}

/** The primary of `serve --workers N`: answers a worker's scrape with every worker's figures summed. */
export function gatherWorkerMetrics(): void {
  const aggregator = new AggregatorRegistry();
  cluster.on("message", (worker: Worker, message: { type?: string; id?: number }) => {
    if (message?.type !== ASK) return;
    const answer = (fields: Partial<Answer>) => {
      if (worker.isConnected()) worker.send({ type: ANSWER, id: message.id, ...fields });
    };
    aggregator.clusterMetrics().then(
      (text) => answer({ text }),
      (error: Error) => answer({ error: error.message }),
    );
  });
}
