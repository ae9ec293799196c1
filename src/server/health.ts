import type { FastifyInstance } from "fastify";
import type { DataSource } from "typeorm";
import { SettingsError } from "../auth/settings";
import { databaseFault, RETRY_AFTER_SECONDS } from "../db/faults";
import { readerOf } from "../db/reader";

export interface HealthSettings {
  /** How long a readiness check may take before it counts as failed, ms. */
  timeoutMs: number;
  /** How long a readiness answer is reused, ms: a load balancer polling often does not load the database. */
  cacheMs: number;
}

export const DEFAULT_HEALTH: HealthSettings = { timeoutMs: 800, cacheMs: 1_000 };

/** TRAILGRAPH_HEALTH_TIMEOUT_MS and TRAILGRAPH_HEALTH_CACHE_MS. */
export function healthSettings(env: NodeJS.ProcessEnv = process.env): HealthSettings {
  const read = (name: string, fallback: number, min: number) => {
    const raw = env[name]?.trim();
    if (raw === undefined || raw === "") return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > 60_000)
      throw new SettingsError(`${name} '${env[name]}' is not a whole number of milliseconds between ${min} and 60000.`);
    return value;
  };
  return {
    timeoutMs: read("TRAILGRAPH_HEALTH_TIMEOUT_MS", DEFAULT_HEALTH.timeoutMs, 1),
    cacheMs: read("TRAILGRAPH_HEALTH_CACHE_MS", DEFAULT_HEALTH.cacheMs, 0),
  };
}

interface Readiness {
  ready: boolean;
  /** The JSON answered (no host, port or driver text). */
  body: string;
}

/**
 * Whether the database answers and holds every migration this build knows, checked with one
 * statement (the names in the migrations table), at most once per `cacheMs` and at most one
 * check at a time: concurrent probes share the check in flight. A check that takes longer than
 * `timeoutMs` answers "not ready" at that time; the statement itself is bounded by the
 * database timeouts (src/db/faults.ts), and no new one starts while it runs.
 */
export class ReadinessCheck {
  private answer: Readiness | null = null;
  private answeredAt = 0;
  private running: Promise<Readiness> | null = null;
  private readonly expected: string[];
  private readonly table: string;

  constructor(
    private readonly dataSource: DataSource,
    private readonly settings: HealthSettings,
  ) {
    this.expected = dataSource.migrations.map((migration) => migration.name ?? migration.constructor.name);
    this.table = dataSource.options.migrationsTableName ?? "migrations";
  }

  async current(): Promise<Readiness> {
    if (this.answer && Date.now() - this.answeredAt < this.settings.cacheMs) return this.answer;
    this.running ??= this.check().then((answer) => {
      this.answer = answer;
      this.answeredAt = Date.now();
      this.running = null;
      return answer;
    });
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<Readiness>((resolve) => {
      timer = setTimeout(
        () =>
          resolve(
            failed("database", `the database did not answer within ${this.settings.timeoutMs} ms`, "unavailable"),
          ),
        this.settings.timeoutMs,
      );
    });
    try {
      return await Promise.race([this.running, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async check(): Promise<Readiness> {
    let rows: Array<Record<string, unknown>>;
    try {
      rows = await readerOf(this.dataSource)(`SELECT name FROM ${this.table}`, []);
    } catch (error) {
      const fault = databaseFault(error);
      return failed(
        "database",
        fault === "unavailable"
          ? "the database cannot be reached or did not answer in time"
          : "the database answered the check with an error (the server's log has it)",
        "unavailable",
      );
    }
    const applied = new Set(rows.map((row) => String(row.name)));
    const pending = this.expected.filter((name) => !applied.has(name));
    if (pending.length > 0) {
      return failed("migrations", `${pending.length} migration(s) not applied: run \`trailgraph migrate\``, "pending");
    }
    return { ready: true, body: JSON.stringify({ status: "ok", checks: { database: "ok", migrations: "ok" } }) };
  }
}

function failed(check: "database" | "migrations", reason: string, state: string): Readiness {
  const checks =
    check === "database" ? { database: state, migrations: "unknown" } : { database: "ok", migrations: state };
  return { ready: false, body: JSON.stringify({ status: "unavailable", failed: check, reason, checks }) };
}

/**
 * GET /health/live: 200 while the process serves (no database). GET /health/ready and GET
 * /health: 200 when the database answers and its migrations are current, else 503 with
 * Retry-After and the failed check; both answer within the check's timeout whatever the
 * database does.
 */
export function registerHealthRoutes(app: FastifyInstance, dataSource: DataSource, settings: HealthSettings): void {
  const readiness = new ReadinessCheck(dataSource, settings);
  const ready = async (_request: unknown, reply: import("fastify").FastifyReply) => {
    const answer = await readiness.current();
    reply.header("content-type", "application/json; charset=utf-8").header("cache-control", "no-store");
    if (!answer.ready) reply.code(503).header("retry-after", String(RETRY_AFTER_SECONDS));
    return reply.send(answer.body);
  };
  app.get("/health/live", async (_request, reply) => reply.header("cache-control", "no-store").send({ status: "ok" }));
  app.get("/health/ready", ready);
  app.get("/health", ready);
}
