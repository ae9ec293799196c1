import { QueryFailedError, type DataSource } from "typeorm";
import { discardConnection, timeoutsOf } from "./datasource";
import {
  acquireTimeoutError,
  databaseFault,
  databaseFaultError,
  DEFAULT_DATABASE_TIMEOUTS,
  queryTimeoutError,
} from "./faults";
import type { QueryFn } from "./lists";
import { StatementCounter } from "./statement-counter";

type Row = Record<string, unknown>;

type MysqlCallback = (error: (Error & { errno?: number }) | null, rows: unknown) => void;

interface MysqlConnection {
  query(sql: string, values: unknown[], callback: MysqlCallback): void;
  execute(sql: string, values: unknown[], callback: MysqlCallback): void;
  release(): void;
}

interface MysqlPool {
  getConnection(callback: (error: Error | null, connection: MysqlConnection) => void): void;
  /** mysql2's idle connections: with one there, getConnection hands it out without waiting. */
  _freeConnections?: { length: number };
}

/** The server's limit on prepared statements (max_prepared_stmt_count, shared by every client) is reached. */
const ER_MAX_PREPARED_STMT_COUNT_REACHED = 1461;
/** The statement cannot be prepared. */
const ER_UNSUPPORTED_PS = 1295;
/**
 * Once the server's limit is reached, reads run unprepared for this long before one tries to
 * prepare again: a failed prepare is a round trip, and the limit is not freed by our retrying.
 */
export const UNPREPARED_PAUSE_MS = 5_000;
/** Statement texts the server cannot prepare, remembered (at most this many) to run unprepared. */
const MAX_UNSUPPORTED = 1_000;

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
 *
 * On MySQL, reads are prepared statements (mysql2's `execute`, binary protocol) when the
 * DataSource keeps a cache of them per connection (`extra.maxPreparedStatements`, see
 * src/db/datasource.ts): the server parses a statement once per connection instead of once
 * per request, which took 20-30 % off the database's CPU for the benchmark's operation c.
 *
 * Every MySQL read is bounded: waiting for a pooled connection by the acquire timeout, its
 * statement by the query timeout (src/db/faults.ts). A database fault rejects with the
 * GraphQLError clients get (DATABASE_UNAVAILABLE, STATEMENT_TIMEOUT), the driver's error kept
 * as its originalError for the log.
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
  const timed = logger instanceof StatementCounter ? logger : null;
  const extra = (dataSource.options as { extra?: { maxPreparedStatements?: number } }).extra;
  const prepared = (extra?.maxPreparedStatements ?? 0) > 0;
  const timeouts = timeoutsOf(dataSource) ?? DEFAULT_DATABASE_TIMEOUTS;
  let unpreparedUntil = 0;
  const unsupported = new Set<string>();
  return (text, params) => {
    const pool = (dataSource.driver as unknown as { pool?: MysqlPool }).pool;
    if (!pool) return dataSource.query(text, params);
    logger.logQuery(text, params);
    const started = performance.now();
    return new Promise((resolve, reject) => {
      let connection: MysqlConnection | null = null;
      let finished = false;
      // A timer bounds the wait for a pooled connection (mysql2 has no such bound), unless an
      // idle one is there to be handed out; another then bounds the statement, prepare
      // included (mysql2's own `timeout` leaves the prepare of a prepared statement unbounded).
      let timer: NodeJS.Timeout | undefined =
        (pool._freeConnections?.length ?? 0) > 0
          ? undefined
          : setTimeout(() => finish(acquireTimeoutError(timeouts.acquireMs), null), timeouts.acquireMs);
      const finish = (error: (Error & { errno?: number }) | null, rows: unknown) => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        timed?.onRead?.(performance.now() - started);
        const fault = error && databaseFault(error);
        if (connection) {
          // A connection whose statement got no answer (or that broke) is closed, never
          // reused: its answer may still come, and the next statement would wait behind it.
          if (fault === "unavailable") discardConnection(connection);
          else connection.release();
        }
        if (error) {
          logger.logQueryError(error, text, params);
          reject(
            fault
              ? databaseFaultError(fault, new QueryFailedError(text, params, error))
              : new QueryFailedError(text, params, error),
          );
        } else {
          resolve(rows as Row[]);
        }
      };
      pool.getConnection((error, acquired) => {
        if (finished) {
          // Acquired after the wait was given up: back to the pool for the next statement.
          acquired?.release();
          return;
        }
        if (error) return finish(error, null);
        connection = acquired;
        clearTimeout(timer);
        timer = setTimeout(() => finish(queryTimeoutError(timeouts.queryMs), null), timeouts.queryMs);
        try {
          const paused = unpreparedUntil !== 0 && Date.now() < unpreparedUntil;
          if (!prepared || paused || unsupported.has(text)) return acquired.query(text, params, finish);
          acquired.execute(text, params, (executeError, rows) => {
            if (executeError?.errno === ER_MAX_PREPARED_STMT_COUNT_REACHED) {
              unpreparedUntil = Date.now() + UNPREPARED_PAUSE_MS;
              return acquired.query(text, params, finish);
            }
            if (executeError?.errno === ER_UNSUPPORTED_PS) {
              if (unsupported.size >= MAX_UNSUPPORTED) unsupported.clear();
              unsupported.add(text);
              return acquired.query(text, params, finish);
            }
            finish(executeError, rows);
          });
        } catch (thrown) {
          finish(thrown as Error, null);
        }
      });
    });
  };
}

function sqliteReader(dataSource: DataSource): QueryFn {
  const logger = dataSource.logger;
  const timed = logger instanceof StatementCounter ? logger : null;
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
    const started = performance.now();
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
    } finally {
      timed?.onRead?.(performance.now() - started);
    }
  };
}
