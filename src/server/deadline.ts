import type { ServerResponse } from "node:http";
import { type ApolloServerPlugin, type BaseContext } from "@apollo/server";
import type { FastifyRequest } from "fastify";
import { GraphQLError } from "graphql";
import { SettingsError } from "../auth/settings";
import type { StatementGuard } from "../db/store";

/** How long a request may run and how much it may answer. A null limit is off. */
export interface DeadlineSettings {
  /** Milliseconds from the moment Apollo Server builds the request's context to its answer. */
  requestTimeoutMs: number | null;
  /** Bytes of one GraphQL answer (its JSON, UTF-8). */
  maxResponseBytes: number | null;
  /** Rows all of one request's SQL statements may read together. */
  maxRows: number | null;
  /**
   * List items one answer may hold, a page answered for many parents counting for each (the
   * request's DataLoaders read it once: no statement, no row counted).
   */
  maxNodes: number | null;
}

/**
 * The defaults: the cost limit's largest operations answer in well under a second and read a
 * few thousand rows (README, "Deadlines and response limits"), so these only stop what the cost
 * limit cannot see: a database that has become slow, and rows far wider than usual.
 */
export const DEFAULT_DEADLINES: DeadlineSettings = Object.freeze({
  requestTimeoutMs: 15_000,
  maxResponseBytes: 64 * 1024 * 1024,
  maxRows: 100_000,
  maxNodes: 20_000,
});

/** No deadline and no size limit (tests of other features). */
export const NO_DEADLINES: DeadlineSettings = Object.freeze({
  requestTimeoutMs: null,
  maxResponseBytes: null,
  maxRows: null,
  maxNodes: null,
});

/**
 * From the environment: TRAILGRAPH_REQUEST_TIMEOUT_MS, TRAILGRAPH_MAX_RESPONSE_BYTES,
 * TRAILGRAPH_MAX_ROWS and TRAILGRAPH_MAX_NODES, each a whole number or `0`/`off`. A bad value is a SettingsError naming it.
 */
export function deadlineSettings(env: NodeJS.ProcessEnv = process.env): DeadlineSettings {
  return {
    requestTimeoutMs: setting(env, "TRAILGRAPH_REQUEST_TIMEOUT_MS", DEFAULT_DEADLINES.requestTimeoutMs),
    maxResponseBytes: setting(env, "TRAILGRAPH_MAX_RESPONSE_BYTES", DEFAULT_DEADLINES.maxResponseBytes),
    maxRows: setting(env, "TRAILGRAPH_MAX_ROWS", DEFAULT_DEADLINES.maxRows),
    maxNodes: setting(env, "TRAILGRAPH_MAX_NODES", DEFAULT_DEADLINES.maxNodes),
  };
}

function setting(env: NodeJS.ProcessEnv, name: string, fallback: number | null): number | null {
  const text = env[name]?.trim().toLowerCase() ?? "";
  if (text === "") return fallback;
  if (text === "off" || text === "0") return null;
  const value = /^\d+$/.test(text) ? Number(text) : NaN;
  // setTimeout takes at most 2^31-1 ms; anything longer would fire at once.
  const max = name === "TRAILGRAPH_REQUEST_TIMEOUT_MS" ? 2 ** 31 - 1 : Number.MAX_SAFE_INTEGER;
  if (!Number.isSafeInteger(value) || value > max)
    throw new SettingsError(`${name} '${env[name]}' is neither a whole number (at most ${max}) nor off.`);
  return value;
}

/** The limits in one line, for the start log. */
export function describeDeadlines(settings: DeadlineSettings): string {
  const show = (value: number | null, unit: string) =>
    value === null ? "off" : `${value.toLocaleString("en")}${unit}`;
  return (
    `request limits: deadline ${show(settings.requestTimeoutMs, " ms")}, ` +
    `answer ${show(settings.maxResponseBytes, " bytes")}, rows read ${show(settings.maxRows, "")}, ` +
    `list items answered ${show(settings.maxNodes, "")}`
  );
}

function httpError(message: string, code: string, status: number): GraphQLError {
  return new GraphQLError(message, { extensions: { code, http: { status } } });
}

export function deadlineExceeded(ms: number): GraphQLError {
  return httpError(
    `The request ran past its deadline of ${ms} ms and was stopped; ask for fewer rows or fields, or a ` +
      "narrower time window.",
    "DEADLINE_EXCEEDED",
    504,
  );
}

export function rowsExceeded(limit: number): GraphQLError {
  return httpError(
    `The answer would hold more than ${limit} rows, the server's limit for one request (TRAILGRAPH_MAX_ROWS); ` +
      "ask for fewer rows (smaller first/last, fewer nested lists) or fewer fields.",
    "RESPONSE_TOO_LARGE",
    400,
  );
}

export function nodesExceeded(limit: number): GraphQLError {
  return httpError(
    `The answer would hold more than ${limit} list items, the server's limit for one request (TRAILGRAPH_MAX_NODES); ` +
      "ask for fewer rows (smaller first/last, fewer nested lists).",
    "RESPONSE_TOO_LARGE",
    400,
  );
}

/** The body of an answer refused for its size (the onSend hook replaces the answer with it). */
export function responseTooLargeBody(bytes: number, limit: number): string {
  return JSON.stringify({
    errors: [
      {
        message:
          `The answer is ${bytes} bytes, more than the server's limit of ${limit} bytes ` +
          "(TRAILGRAPH_MAX_RESPONSE_BYTES); ask for fewer rows (smaller first/last, fewer nested lists) or fewer fields.",
        extensions: { code: "RESPONSE_TOO_LARGE" },
      },
    ],
  });
}

/**
 * The work of a request whose client went away: it ends, and nothing is sent. 499 is what the
 * request log says (the status nginx logs for the same case).
 */
export const CLIENT_CLOSED = "CLIENT_CLOSED";
const clientClosed = httpError("The client closed the connection before the answer.", CLIENT_CLOSED, 499);

/** The size of an answer in UTF-8 bytes, or -1 when it is surely within `limit`. */
export function oversize(payload: string, limit: number): number {
  // A UTF-16 code unit is at most 3 UTF-8 bytes (a pair of surrogates, 4 for 2): a string of up to
  // limit/3 units fits without counting. Larger ones are counted, so that a refusal says the size.
  if (payload.length * 3 <= limit) return -1;
  const bytes = Buffer.byteLength(payload, "utf8");
  return bytes > limit ? bytes : -1;
}

const GUARD = Symbol("request guard");

type GuardedResponse = ServerResponse & { [GUARD]?: RequestGuard };

/**
 * One GraphQL request's deadline, disconnect and row count: the Store asks it before each
 * statement (`stopped()`: a property read, and a clock read while a deadline runs) and tells it
 * the rows each statement read. At most one timer per request; the timer and the response's
 * close listener are shared functions, not closures. The AbortSignal is made only when asked
 * for: making one costs about 4 µs, more than everything else here together.
 */
export class RequestGuard implements StatementGuard {
  /** Why the request's work was stopped (null while it runs). */
  reason: GraphQLError | null = null;
  private controller: AbortController | null = null;
  private readonly timer: NodeJS.Timeout | null;
  /** performance.now() when the request's context was built, and at its deadline (Infinity for none). */
  private readonly startedAt = performance.now();
  private readonly expiresAt: number;
  private rows = 0;
  /** List items answered (a page answered for many parents counts for each). */
  private nodes = 0;

  constructor(
    private readonly settings: DeadlineSettings,
    response: ServerResponse | null,
  ) {
    const ms = settings.requestTimeoutMs;
    this.timer = ms === null ? null : setTimeout(expire, ms, this).unref();
    this.expiresAt = ms === null ? Infinity : this.startedAt + ms;
    if (response) {
      (response as GuardedResponse)[GUARD] = this;
      // `on`, not `once`: a response closes once, and `once` wraps the listener in a closure.
      response.on("close", closed);
    }
  }

  /** Aborted, with the reason, when the request's work is stopped (for work that loops without the Store). */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.reason) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  /** Stops the request's work: every later statement is refused with `reason`. */
  abort(reason: GraphQLError): void {
    if (this.reason) return;
    this.reason = reason;
    this.controller?.abort(reason);
    this.done();
  }

  /** The client is gone: nothing will be sent. */
  get clientClosed(): boolean {
    return this.reason === clientClosed;
  }

  /**
   * The timer stops a request waiting on the database; a request whose statements answer
   * without the event loop turning (SQLite's are synchronous) never lets it fire, so each
   * statement also reads the clock (tens of nanoseconds against a statement's tens of microseconds).
   */
  stopped(): boolean {
    if (this.reason) return true;
    if (this.expiresAt === Infinity || performance.now() < this.expiresAt) return false;
    expire(this);
    return true;
  }

  countRows(rows: number): void {
    this.rows += rows;
    const max = this.settings.maxRows;
    if (max !== null && this.rows > max) {
      this.abort(rowsExceeded(max));
      throw this.reason;
    }
  }

  countNodes(nodes: number): void {
    // Lists answered from what was read before send no statement: the deadline is checked here too.
    if (this.stopped()) throw this.reason;
    this.nodes += nodes;
    const max = this.settings.maxNodes;
    if (max !== null && this.nodes > max) {
      this.abort(nodesExceeded(max));
      throw this.reason;
    }
  }

  /** The answer is ready: the deadline no longer applies. */
  done(): void {
    if (this.timer) clearTimeout(this.timer);
  }

  /** Milliseconds since the request's context was built. */
  get elapsedMs(): number {
    return performance.now() - this.startedAt;
  }

  /** The request's deadline, ms (null for none). */
  get timeoutMs(): number | null {
    return this.settings.requestTimeoutMs;
  }
}

function expire(guard: RequestGuard): void {
  guard.abort(deadlineExceeded(guard.timeoutMs!));
}

/** A response closed before it was all written: its client went away. */
function closed(this: GuardedResponse): void {
  const guard = this[GUARD];
  if (!guard) return;
  this[GUARD] = undefined;
  if (!this.writableFinished) guard.abort(clientClosed);
}

/**
 * A request whose guard was aborted answers its reason alone, with its status (504
 * DEADLINE_EXCEEDED, 400 RESPONSE_TOO_LARGE; 499 CLIENT_CLOSED, which no one receives), whatever
 * part of the operation ran and however it ended: resolvers whose statements were refused each
 * failed, others may have answered from what was read before. So the answer is the same whether
 * the operation ran compiled or was run again by graphql-js (src/server/executor.ts), where the
 * aborted Store refuses every statement at once. Also ends the request's deadline.
 */
export function deadlinePlugin<TContext extends BaseContext>(
  requestOf: (context: TContext) => FastifyRequest | undefined,
  logClientClosed: ((request: FastifyRequest, ms: number) => void) | null,
): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ contextValue, response }) {
          const request = contextValue ? requestOf(contextValue) : undefined;
          const guard = request?.guard;
          if (!guard) return;
          guard.done();
          const reason = guard.reason;
          if (!reason || response.body.kind !== "single") return;
          const code = reason.extensions.code as string;
          response.body.singleResult = { errors: [{ message: reason.message, extensions: { code } }] };
          response.http.status = (reason.extensions.http as { status: number }).status;
          request.errorCode = code;
          if (code === CLIENT_CLOSED) logClientClosed?.(request, guard.elapsedMs);
        },
      };
    },
  };
}
