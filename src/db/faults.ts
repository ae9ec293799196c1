import { GraphQLError } from "graphql";
import { SettingsError } from "../auth/settings";

/**
 * Bounds on every wait for the MySQL/MariaDB server, so that a server that is down, restarting
 * or paused costs a request a known time instead of the whole outage.
 */
export interface DatabaseTimeouts {
  /** Opening a connection, up to the server's greeting (mysql2 `connectTimeout`). */
  connectMs: number;
  /** Waiting for a pooled connection when all of them are busy (the read side). */
  acquireMs: number;
  /** One read statement, client side: past it the connection is closed and never reused. */
  queryMs: number;
  /** One TypeORM statement (writes, ingest bookkeeping), client side; migrations have none. */
  writeMs: number;
  /**
   * The server's own limit on one statement (MariaDB `max_statement_time`, MySQL
   * `MAX_EXECUTION_TIME` for SELECTs), set on every new pooled connection; 0: none.
   */
  statementMs: number;
}

export const DEFAULT_DATABASE_TIMEOUTS: DatabaseTimeouts = {
  connectMs: 5_000,
  acquireMs: 5_000,
  // Above the statement limit: a long statement is ended by the server (504, the connection
  // stays usable) before the client gives up on it (503, the connection is closed). Below the
  // request deadline (15 s, src/server/deadline.ts): a read stuck on a hung database is answered
  // 503 with Retry-After, not 504 DEADLINE_EXCEEDED.
  queryMs: 12_000,
  writeMs: 60_000,
  statementMs: 10_000,
};

/** Seconds a client is told to wait (Retry-After) before trying again during an outage. */
export const RETRY_AFTER_SECONDS = 5;

const VARIABLES: Record<keyof DatabaseTimeouts, string> = {
  connectMs: "TRAILGRAPH_DB_CONNECT_TIMEOUT_MS",
  acquireMs: "TRAILGRAPH_DB_ACQUIRE_TIMEOUT_MS",
  queryMs: "TRAILGRAPH_DB_QUERY_TIMEOUT_MS",
  writeMs: "TRAILGRAPH_DB_WRITE_TIMEOUT_MS",
  statementMs: "TRAILGRAPH_STATEMENT_TIMEOUT_MS",
};

/** The database timeouts from TRAILGRAPH_DB_*_TIMEOUT_MS and TRAILGRAPH_STATEMENT_TIMEOUT_MS. */
export function databaseTimeouts(env: NodeJS.ProcessEnv = process.env): DatabaseTimeouts {
  const timeouts = { ...DEFAULT_DATABASE_TIMEOUTS };
  for (const key of Object.keys(VARIABLES) as Array<keyof DatabaseTimeouts>) {
    const name = VARIABLES[key];
    const raw = env[name]?.trim();
    if (raw === undefined || raw === "") continue;
    if (key === "statementMs" && ["0", "off", "none"].includes(raw.toLowerCase())) {
      timeouts.statementMs = 0;
      continue;
    }
    const value = Number(raw);
    if (!Number.isInteger(value) || value <= 0 || value > 24 * 3_600_000) {
      throw new SettingsError(
        `${name} '${env[name]}' is not a whole number of milliseconds between 1 and 86400000` +
          (key === "statementMs" ? " (or 0/off for no limit)." : "."),
      );
    }
    timeouts[key] = value;
  }
  return timeouts;
}

/** What a failed database call means for a client: the server cannot be used now, or one statement ran too long. */
export type DatabaseFault = "unavailable" | "statement-timeout";

/** Codes of this server's own timeouts (errors it makes, not the driver). */
const ACQUIRE_TIMEOUT = "TRAILGRAPH_ACQUIRE_TIMEOUT";
const QUERY_TIMEOUT = "TRAILGRAPH_QUERY_TIMEOUT";

/**
 * Driver and server error codes that say the database cannot be reached or answer: connection
 * refused, reset, lost or timed out, the server shutting down or full, and this server's own
 * bounds (a pooled connection not free in time, a statement without an answer in time).
 */
const UNAVAILABLE = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EHOSTDOWN",
  "ENOTFOUND",
  "EAI_AGAIN",
  "PROTOCOL_CONNECTION_LOST",
  "PROTOCOL_SEQUENCE_TIMEOUT",
  "PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR",
  "ER_SERVER_SHUTDOWN",
  "ER_CON_COUNT_ERROR",
  "ER_CONNECTION_KILLED",
  "ER_SERVER_GONE_ERROR",
  "ER_SERVER_LOST",
  ACQUIRE_TIMEOUT,
  QUERY_TIMEOUT,
]);
/** 1053 server shutdown, 1040 too many connections, 1927 connection killed (MariaDB), 2006/2013 gone/lost. */
const UNAVAILABLE_ERRNOS = new Set([1053, 1040, 1927, 2006, 2013]);
/** 1969 ER_STATEMENT_TIMEOUT (MariaDB max_statement_time), 3024 ER_QUERY_TIMEOUT (MySQL MAX_EXECUTION_TIME). */
const STATEMENT_TIMEOUT_ERRNOS = new Set([1969, 3024]);

interface DriverError {
  code?: unknown;
  errno?: unknown;
  fatal?: unknown;
  driverError?: DriverError;
  cause?: unknown;
}

/** What a database error means for a client, or null when it is not a fault of the database (a bug: 500). */
export function databaseFault(error: unknown): DatabaseFault | null {
  if (error instanceof GraphQLError) {
    const code = error.extensions.code;
    return code === "DATABASE_UNAVAILABLE" ? "unavailable" : code === "STATEMENT_TIMEOUT" ? "statement-timeout" : null;
  }
  let driver = error as DriverError | null | undefined;
  // TypeORM's QueryFailedError carries the driver's error.
  if (driver?.driverError) driver = driver.driverError;
  if (!driver || typeof driver !== "object") return null;
  if (typeof driver.errno === "number" && STATEMENT_TIMEOUT_ERRNOS.has(driver.errno)) return "statement-timeout";
  if (typeof driver.code === "string" && UNAVAILABLE.has(driver.code)) return "unavailable";
  if (typeof driver.errno === "number" && UNAVAILABLE_ERRNOS.has(driver.errno)) return "unavailable";
  // mysql2 marks errors after which its connection is dead ("Can't add new command when
  // connection is in closed state", a pool closed under a request...).
  if (driver.fatal === true) return "unavailable";
  return null;
}

/** A pooled connection was not free within the acquire timeout. */
export function acquireTimeoutError(ms: number): Error & { code: string } {
  return Object.assign(new Error(`no pooled database connection was free within ${ms} ms`), {
    code: ACQUIRE_TIMEOUT,
  });
}

/** A read statement had no answer within the client-side query timeout. */
export function queryTimeoutError(ms: number): Error & { code: string } {
  return Object.assign(new Error(`the database did not answer within ${ms} ms`), { code: QUERY_TIMEOUT });
}

/**
 * The error a GraphQL client gets for a database fault: DATABASE_UNAVAILABLE (503 with
 * Retry-After) or STATEMENT_TIMEOUT (504), with Apollo Server's `extensions.http` setting the
 * response's status and headers. The message names no host, port or driver text; the
 * original is kept as `originalError` for the log.
 */
export function databaseFaultError(fault: DatabaseFault, original: unknown): GraphQLError {
  const originalError = original instanceof Error ? original : undefined;
  if (fault === "statement-timeout") {
    return new GraphQLError(
      "A database statement of this request ran past its time limit (TRAILGRAPH_STATEMENT_TIMEOUT_MS); ask for less (a smaller page, a narrower filter).",
      { originalError, extensions: { code: "STATEMENT_TIMEOUT", http: { status: 504 } } as Record<string, unknown> },
    );
  }
  // A Map with lower-case names is what Apollo Server takes for `http.headers` (its HeaderMap
  // is one); importing @apollo/server here would load it into every CLI command.
  const headers = new Map([["retry-after", String(RETRY_AFTER_SECONDS)]]);
  return new GraphQLError(`The database is unavailable; try again in ${RETRY_AFTER_SECONDS} seconds.`, {
    originalError,
    extensions: { code: "DATABASE_UNAVAILABLE", http: { status: 503, headers } } as Record<string, unknown>,
  });
}
