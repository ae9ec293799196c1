import "reflect-metadata";
import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { DataSource, type DataSourceOptions, type QueryRunner } from "typeorm";
import { ENTITIES } from "../entities";
import { MYSQL_MIGRATIONS } from "../migrations/mysql";
import { SQLITE_MIGRATIONS } from "../migrations/sqlite";
import { databaseFault, databaseTimeouts, type DatabaseTimeouts } from "./faults";
import { StatementCounter } from "./statement-counter";

/** The embedded store used when DATABASE_URL is not set. */
export const DEFAULT_SQLITE_PATH = "data/trailgraph.sqlite";

export type StoreKind = "mysql" | "sqlite";

export interface StoreConfig {
  kind: StoreKind;
  /** True when the store was chosen by default rather than named by DATABASE_URL. */
  implicit: boolean;
  /** A printable description with no password in it. */
  display: string;
  options: DataSourceOptions;
  /** Bounds on waiting for a MySQL/MariaDB server (src/db/faults.ts); null for SQLite. */
  timeouts: DatabaseTimeouts | null;
}

/**
 * Reads the store from a DATABASE_URL-style string:
 * - nothing: the embedded SQLite store at ./data/trailgraph.sqlite;
 * - `sqlite:<path>` (or `sqlite://<path>`, `sqlite::memory:`): an SQLite file;
 * - `mysql://user:pass@host:port/db` or `mariadb://...`: MySQL 8 or MariaDB 10.11.
 */
export function storeConfig(
  url: string | undefined = process.env.DATABASE_URL,
  options: { schemaMessages?: boolean; timeouts?: Partial<DatabaseTimeouts> } = {},
): StoreConfig {
  if (!url || url.trim() === "") {
    return sqliteConfig(DEFAULT_SQLITE_PATH, true, new StatementCounter(options.schemaMessages));
  }
  const trimmed = url.trim();
  if (trimmed.startsWith("sqlite:")) {
    const path = trimmed.replace(/^sqlite:(\/\/)?/, "");
    if (path === "") throw new Error(`DATABASE_URL '${url}' names no SQLite file (use sqlite:<path>).`);
    return sqliteConfig(path, false, new StatementCounter(options.schemaMessages));
  }
  if (/^(mysql|mariadb):\/\//.test(trimmed)) {
    let parsed: URL;
    try {
      parsed = new URL(trimmed);
    } catch {
      throw new Error(`DATABASE_URL is not a valid URL (expected mysql://user:pass@host:port/db).`);
    }
    if (parsed.pathname.replace(/^\//, "") === "") {
      throw new Error(`DATABASE_URL '${redact(parsed)}' names no database (expected mysql://user:pass@host:port/db).`);
    }
    parsed.protocol = "mysql:";
    const statements = statementCache();
    const timeouts = { ...databaseTimeouts(), ...options.timeouts };
    return {
      kind: "mysql",
      implicit: false,
      display: redact(parsed),
      timeouts,
      options: {
        type: "mysql",
        url: parsed.toString(),
        // DATETIME columns hold UTC; without this mysql2 would read them in local time.
        timezone: "Z",
        // Exact comparisons, as the tables' collation (migration ExactText).
        charset: "utf8mb4_bin",
        supportBigNumbers: true,
        bigNumberStrings: false,
        poolSize: poolSize(),
        // A server that is down or paused fails a request in a known time (src/db/faults.ts):
        // opening a connection waits this long for the server's greeting, and every statement
        // TypeORM runs (writes; reads bound themselves in src/db/reader.ts) this long for its
        // answer. A statement that timed out leaves its connection waiting for an answer that
        // may never come: DiscardingCounter closes it, so it is never handed out again.
        connectTimeout: timeouts.connectMs,
        enableQueryTimeout: true,
        maxQueryExecutionTime: timeouts.writeMs,
        // Reads run as prepared statements, at most this many kept per connection (the
        // least recently used is closed): src/db/reader.ts. The server's limit counts every
        // client's (max_prepared_stmt_count, 16382 by default). 0: unprepared reads.
        ...(statements > 0 ? { extra: { maxPreparedStatements: statements } } : {}),
        entities: ENTITIES,
        migrations: MYSQL_MIGRATIONS,
        migrationsTransactionMode: "each",
        logger: new DiscardingCounter(options.schemaMessages),
        logging: ["query", "error"],
      },
    };
  }
  throw new Error(
    `DATABASE_URL '${trimmed.split(":")[0]}:...' is not supported: use mysql://user:pass@host:port/db or sqlite:<path>.`,
  );
}

function sqliteConfig(path: string, implicit: boolean, counter: StatementCounter): StoreConfig {
  const database = path === ":memory:" ? path : resolve(path);
  return {
    kind: "sqlite",
    implicit,
    display: `sqlite:${path}`,
    options: {
      type: "better-sqlite3",
      database,
      prepareDatabase: (db: { pragma(source: string): unknown }) => {
        if (database !== ":memory:") db.pragma("journal_mode = WAL");
        db.pragma("synchronous = NORMAL");
        db.pragma("busy_timeout = 10000");
      },
      entities: ENTITIES,
      migrations: SQLITE_MIGRATIONS,
      migrationsTransactionMode: "each",
      logger: counter,
      logging: ["query", "error"],
    },
    timeouts: null,
  };
}

function redact(url: URL): string {
  const copy = new URL(url.toString());
  if (copy.password) copy.password = "***";
  return copy.toString();
}

/**
 * The same store for migrations: no client-side statement timeout and no server-side
 * statement limit, since cutting an ALTER TABLE of a large table halfway helps nobody.
 */
export function migrationConfig(config: StoreConfig): StoreConfig {
  if (config.kind !== "mysql" || !config.timeouts) return config;
  return {
    ...config,
    options: { ...config.options, enableQueryTimeout: false } as DataSourceOptions,
    timeouts: { ...config.timeouts, statementMs: 0 },
  };
}

const TIMEOUTS = new WeakMap<DataSource, DatabaseTimeouts>();

/** The database timeouts of a DataSource built by createDataSource (null: SQLite, or built otherwise). */
export function timeoutsOf(dataSource: DataSource): DatabaseTimeouts | null {
  return TIMEOUTS.get(dataSource) ?? null;
}

/** Creates (without initializing) the DataSource for a store; makes the SQLite folder. */
export function createDataSource(config: StoreConfig): DataSource {
  if (config.kind === "sqlite" && config.options.type === "better-sqlite3") {
    const file = config.options.database;
    if (file !== ":memory:") mkdirSync(dirname(file), { recursive: true });
  }
  const dataSource = new DataSource(config.options);
  if (config.kind === "mysql" && config.timeouts) {
    TIMEOUTS.set(dataSource, config.timeouts);
    if (config.timeouts.statementMs > 0) limitStatements(dataSource, config.timeouts.statementMs);
  }
  return dataSource;
}

type PooledConnection = {
  _isMariaDB?: boolean;
  query(sql: string, callback: (error: Error | null) => void): void;
};

/**
 * Sets the server's own limit on every statement of every connection the pool opens: MariaDB
 * `max_statement_time` (seconds, fractional; every statement), MySQL 8 `MAX_EXECUTION_TIME`
 * (milliseconds; SELECTs only). The server ends a statement past it with an error
 * (STATEMENT_TIMEOUT to clients) and the connection stays usable, which a client-side timeout
 * cannot offer. The SET is queued on the new connection ahead of the statement it was opened
 * for, so no statement runs without it. The listener goes on the pool as mysql2 creates it:
 * TypeORM opens its first connection before the pool is handed out.
 */
function limitStatements(dataSource: DataSource, ms: number): void {
  const driver = dataSource.driver as unknown as { mysql: { createPool(options: unknown): NodeJS.EventEmitter } };
  const mysql = driver.mysql;
  const log = (error: Error | null) => {
    if (error) dataSource.logger.log("warn", `could not set the statement time limit: ${error.message}`);
  };
  driver.mysql = Object.create(mysql, {
    createPool: {
      value: (options: unknown) => {
        const pool = mysql.createPool(options);
        pool.on("connection", (connection: PooledConnection) => {
          connection.query(
            connection._isMariaDB
              ? `SET SESSION max_statement_time = ${ms / 1000}`
              : `SET SESSION MAX_EXECUTION_TIME = ${ms}`,
            log,
          );
        });
        return pool;
      },
    },
  });
}

/**
 * The statement counter of a MySQL store, which also takes a connection out of use once a
 * statement on it timed out or broke it: its answer may still come (or never), and the next
 * statement would wait behind it or read it. TypeORM reports every failed statement here, with
 * its QueryRunner, before it rolls back and releases the connection.
 */
class DiscardingCounter extends StatementCounter {
  override logQueryError(error: string | Error, query: string, parameters?: unknown[], queryRunner?: QueryRunner) {
    super.logQueryError(error, query, parameters, queryRunner);
    if (typeof error === "string" || databaseFault(error) !== "unavailable") return;
    const connection = (queryRunner as { databaseConnection?: unknown } | undefined)?.databaseConnection;
    discardConnection(connection);
  }
}

/** Closes a mysql2 pooled connection at once: out of the pool, its socket destroyed, its waiting statements failed. */
export function discardConnection(connection: unknown): void {
  const pooled = connection as { destroy?(): void; stream?: { destroy?(): void } } | null | undefined;
  if (!pooled?.destroy) return;
  pooled.destroy();
  pooled.stream?.destroy?.();
}

/** The statement counter attached to a DataSource built by storeConfig. */
export function statementCounter(dataSource: DataSource): StatementCounter {
  const logger = dataSource.logger;
  if (!(logger instanceof StatementCounter)) throw new Error("DataSource was not built by storeConfig()");
  return logger;
}

/** TRAILGRAPH_DB_STATEMENTS: prepared statements kept per MySQL connection (default 100). */
function statementCache(): number {
  const raw = process.env.TRAILGRAPH_DB_STATEMENTS;
  const size = raw === undefined || raw.trim() === "" ? 100 : Number(raw);
  if (!Number.isInteger(size) || size < 0) {
    throw new Error(`TRAILGRAPH_DB_STATEMENTS '${raw}' is not a whole number of statements (0 or more).`);
  }
  return size;
}

/** TRAILGRAPH_DB_POOL: connections in each process's MySQL pool (default 10). */
export function poolSize(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.TRAILGRAPH_DB_POOL;
  const size = raw === undefined || raw.trim() === "" ? 10 : Number(raw);
  if (!Number.isInteger(size) || size < 1 || size > 1000) {
    throw new Error(`TRAILGRAPH_DB_POOL '${raw}' is not a number of connections from 1 to 1000.`);
  }
  return size;
}
