import { QueryFailedError, type DataSource } from "typeorm";
import type { QueryFn } from "./lists";

type Row = Record<string, unknown>;

interface MysqlPool {
  query(sql: string, values: unknown[], callback: (error: Error | null, rows: unknown) => void): void;
}

interface SqliteStatement {
  reader: boolean;
  all(...params: unknown[]): Row[];
}

interface SqliteDatabase {
  prepare(source: string): SqliteStatement;
}

/** Prepared SQLite statements kept per connection; past this many, start again. */
const STATEMENT_CACHE = 500;

const readers = new WeakMap<DataSource, QueryFn>();

/**
 * The read side's way to run a SELECT: straight on the driver TypeORM opened (mysql2's pool,
 * better-sqlite3's connection), without a QueryRunner, subscriber broadcast and result copy
 * per statement; a read answers in well under a millisecond, and those costs showed in the
 * benchmark's profiles. Statements still go through the DataSource's logger (counted, and
 * echoed with TRAILGRAPH_LOG_SQL=1), and failures are TypeORM's QueryFailedError as before.
 * Writes keep using TypeORM's transactions.
 */
export function readerOf(dataSource: DataSource): QueryFn {
  let reader = readers.get(dataSource);
  if (!reader) {
    reader = dataSource.options.type === "better-sqlite3" ? sqliteReader(dataSource) : mysqlReader(dataSource);
    readers.set(dataSource, reader);
  }
  return reader;
}

function mysqlReader(dataSource: DataSource): QueryFn {
  const logger = dataSource.logger;
  return (text, params) => {
    const pool = (dataSource.driver as unknown as { pool?: MysqlPool }).pool;
    if (!pool) return dataSource.query(text, params);
    logger.logQuery(text, params);
    return new Promise((resolve, reject) =>
      pool.query(text, params, (error, rows) => {
        if (error) {
          logger.logQueryError(error, text, params);
          reject(new QueryFailedError(text, params, error));
        } else {
          resolve(rows as Row[]);
        }
      }),
    );
  };
}

function sqliteReader(dataSource: DataSource): QueryFn {
  const logger = dataSource.logger;
  const statements = new Map<string, SqliteStatement>();
  let connection: SqliteDatabase | undefined;
  return async (text, params) => {
    const database = (dataSource.driver as unknown as { databaseConnection?: SqliteDatabase }).databaseConnection;
    if (!database) return dataSource.query(text, params);
    if (database !== connection) {
      statements.clear();
      connection = database;
    }
    logger.logQuery(text, params);
    try {
      let statement = statements.get(text);
      if (!statement) {
        if (statements.size >= STATEMENT_CACHE) statements.clear();
        statement = database.prepare(text);
        statements.set(text, statement);
      }
      if (!statement.reader) throw new Error("the read side runs SELECT statements only");
      return statement.all(...params.map((value) => (typeof value === "boolean" ? Number(value) : value)));
    } catch (error) {
      logger.logQueryError(error as Error, text, params);
      throw new QueryFailedError(text, params, error as Error);
    }
  };
}
