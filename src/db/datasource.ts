import "reflect-metadata";
import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { DataSource, type DataSourceOptions } from "typeorm";
import { ENTITIES } from "../entities";
import { MYSQL_MIGRATIONS } from "../migrations/mysql";
import { SQLITE_MIGRATIONS } from "../migrations/sqlite";
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
}

/**
 * Reads the store from a DATABASE_URL-style string:
 * - nothing: the embedded SQLite store at ./data/trailgraph.sqlite;
 * - `sqlite:<path>` (or `sqlite://<path>`, `sqlite::memory:`): an SQLite file;
 * - `mysql://user:pass@host:port/db` or `mariadb://...`: MySQL 8 or MariaDB 10.11.
 */
export function storeConfig(
  url: string | undefined = process.env.DATABASE_URL,
  options: { schemaMessages?: boolean } = {},
): StoreConfig {
  const counter = new StatementCounter(options.schemaMessages);
  if (!url || url.trim() === "") {
    return sqliteConfig(DEFAULT_SQLITE_PATH, true, counter);
  }
  const trimmed = url.trim();
  if (trimmed.startsWith("sqlite:")) {
    const path = trimmed.replace(/^sqlite:(\/\/)?/, "");
    if (path === "") throw new Error(`DATABASE_URL '${url}' names no SQLite file (use sqlite:<path>).`);
    return sqliteConfig(path, false, counter);
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
    return {
      kind: "mysql",
      implicit: false,
      display: redact(parsed),
      options: {
        type: "mysql",
        url: parsed.toString(),
        // DATETIME columns hold UTC; without this mysql2 would read them in local time.
        timezone: "Z",
        // Exact comparisons, as the tables' collation (migration ExactText).
        charset: "utf8mb4_bin",
        supportBigNumbers: true,
        bigNumberStrings: false,
        poolSize: Number(process.env.TRAILGRAPH_DB_POOL ?? 10),
        // Reads run as prepared statements, at most this many kept per connection (the
        // least recently used is closed): src/db/reader.ts. The server's limit counts every
        // client's (max_prepared_stmt_count, 16382 by default). 0: unprepared reads.
        ...(statements > 0 ? { extra: { maxPreparedStatements: statements } } : {}),
        entities: ENTITIES,
        migrations: MYSQL_MIGRATIONS,
        migrationsTransactionMode: "each",
        logger: counter,
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
  };
}

function redact(url: URL): string {
  const copy = new URL(url.toString());
  if (copy.password) copy.password = "***";
  return copy.toString();
}

/** Creates (without initializing) the DataSource for a store; makes the SQLite folder. */
export function createDataSource(config: StoreConfig): DataSource {
  if (config.kind === "sqlite" && config.options.type === "better-sqlite3") {
    const file = config.options.database;
    if (file !== ":memory:") mkdirSync(dirname(file), { recursive: true });
  }
  return new DataSource(config.options);
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
