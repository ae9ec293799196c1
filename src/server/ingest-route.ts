import { randomUUID, timingSafeEqual } from "node:crypto";
import { Readable, type Transform } from "node:stream";
import { createBrotliDecompress, createGunzip, createInflate, createInflateRaw } from "node:zlib";
import type { FastifyInstance } from "fastify";
import type { DataSource } from "typeorm";
import { AuthError, INGEST_TOKEN_PRINCIPAL, type Authenticator, type Principal } from "../auth/credentials";
import type { TenantScope } from "../db/scope";
import { databaseFault, RETRY_AFTER_SECONDS } from "../db/faults";
import { InputError, readRecords, type RawRecord } from "../ingest/formats/read-records";
import { ingest } from "../ingest/ingest";
import type { NormalizedEvent } from "../ingest/normalize";
import type { EventSource } from "../ingest/sources";

export interface IngestRouteOptions {
  dataSource: DataSource;
  /** A bearer token for pushes (every account); without it and without `authenticator` the endpoint is off. */
  token: string | null;
  /**
   * Credentials with a write grant (API keys created with --write, JWTs whose write claim is
   * true) may push too, events of their own accounts only. When authentication is off (open
   * mode) nobody writes without the token.
   */
  authenticator?: Authenticator;
  /** Largest body accepted, in bytes (as sent, compressed or not). */
  maxBytes: number;
  /**
   * Largest decoded body, in bytes: what the reader parses once Content-Encoding and gzip
   * are undone. A push that decodes to more is refused (413) before anything is stored.
   */
  maxDecodedBytes?: number;
  /** Rejections listed in the answer (all are kept in the rejects table). */
  listedRejects?: number;
}

export const DEFAULT_INGEST_MAX_BYTES = 64 * 1024 * 1024;
export const DEFAULT_INGEST_MAX_DECODED_BYTES = 1024 * 1024 * 1024;

/** POST /ingest settings from the environment. */
export function ingestSettings(env: NodeJS.ProcessEnv = process.env): {
  token: string | null;
  maxBytes: number;
  maxDecodedBytes: number;
} {
  const size = (name: string, fallback: number) => {
    const value = Number(env[name] ?? fallback);
    if (!Number.isInteger(value) || value <= 0)
      throw new Error(`${name} '${env[name]}' is not a positive whole number`);
    return value;
  };
  const maxBytes = size("TRAILGRAPH_INGEST_MAX_BYTES", DEFAULT_INGEST_MAX_BYTES);
  const maxDecodedBytes = size("TRAILGRAPH_INGEST_MAX_DECODED_BYTES", DEFAULT_INGEST_MAX_DECODED_BYTES);
  const token = env.TRAILGRAPH_INGEST_TOKEN?.trim() || null;
  return { token, maxBytes, maxDecodedBytes };
}

type Chunks = AsyncIterable<Buffer>;

/**
 * Content-Encodings POST /ingest decodes. gzip needs no decoder of its own: the reader
 * recognises gzip by its content, with or without the header (nested gzip too).
 */
const DECODERS = new Map<string, ((chunks: Chunks) => Chunks) | null>([
  ["identity", null],
  ["gzip", null],
  ["x-gzip", null],
  [
    "deflate",
    // HTTP's deflate is the zlib format (RFC 1950); some clients send raw deflate (RFC 1951).
    async function* (chunks) {
      const { head, rest } = await peek(chunks, 2);
      yield* through(rest, isZlibHeader(head) ? createInflate() : createInflateRaw());
    },
  ],
  ["br", (chunks) => through(chunks, createBrotliDecompress())],
]);

/** gzip inside the Content-Encoding is undone up to this depth, as the reader does. */
const MAX_GZIP_LAYERS = 4;

/**
 * POST /ingest: the same formats as `trailgraph ingest` (events, arrays, JSON lines, SLS
 * records, LookupEvents pages; plain, gzip by content or Content-Encoding, deflate or br by
 * Content-Encoding), for pushes from SLS consumers, Function Compute or EventBridge. Answers
 * the ingest summary as JSON: 200 when everything was ingested, 422 when some records were
 * rejected (they are listed, and kept in the rejects table), 401 without the token, 413 above
 * the size limit (as sent) or the decoded size limit, 415 for a Content-Encoding it cannot
 * decode, 404 when no token is configured.
 *
 * Memory: the body is held as sent (at most `maxBytes`); decoding and reading stream from it,
 * one record at a time, so a small body that expands hugely cannot exhaust memory. The
 * decoded limit bounds the work such a body makes (time, rows): it is checked by decoding
 * once without keeping anything, before the ingest starts.
 */
export async function registerIngestRoute(app: FastifyInstance, options: IngestRouteOptions): Promise<void> {
  await app.register(async (scope) => {
    // The body is read as bytes whatever its type: the reader detects the format itself.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser("*", { parseAs: "buffer", bodyLimit: options.maxBytes }, (_request, body, done) =>
      done(null, body),
    );
    const maxDecodedBytes = options.maxDecodedBytes ?? DEFAULT_INGEST_MAX_DECODED_BYTES;
    scope.setErrorHandler((error: Error & { code?: string; statusCode?: number }, request, reply) => {
      if (error.code === "FST_ERR_CTP_BODY_TOO_LARGE") {
        return reply.code(413).send({
          error: `The body is larger than ${options.maxBytes} bytes, the limit of POST /ingest (TRAILGRAPH_INGEST_MAX_BYTES). Split it into smaller pushes.`,
        });
      }
      const status = error.statusCode && error.statusCode < 500 ? error.statusCode : 500;
      if (status < 500) return reply.code(status).send({ error: error.message });
      const fault = databaseFault(error);
      if (fault) {
        // A push commits one transaction per batch (1000 events): batches before the fault are
        // stored, the one it hit is rolled back whole. Event IDs are unique, so pushing the same
        // body again stores the rest and counts the stored ones as duplicates, never twice.
        request.errorCode = fault === "unavailable" ? "DATABASE_UNAVAILABLE" : "STATEMENT_TIMEOUT";
        request.log.warn({ err: error, reqId: request.id }, "POST /ingest: database fault");
        if (fault === "unavailable") reply.header("retry-after", String(RETRY_AFTER_SECONDS));
        return reply.code(fault === "unavailable" ? 503 : 504).send({
          error:
            fault === "unavailable"
              ? `The database is unavailable; try again in ${RETRY_AFTER_SECONDS} seconds.`
              : "A database statement of this push ran past its time limit (TRAILGRAPH_STATEMENT_TIMEOUT_MS).",
          code: request.errorCode,
          requestId: request.id,
          stored:
            "Part of this push may be stored (it commits in batches); push the same body again: " +
            "events already stored are recognised by their event IDs and not stored twice.",
        });
      }
      // The details (driver messages, addresses, SQL) go to the log, never to the client.
      request.log.error({ err: error, reqId: request.id }, "POST /ingest failed");
      return reply
        .code(500)
        .send({ error: `ingest failed; the server's log has the details under request ID ${request.id}.` });
    });

    // Settled before the body is read: without a credential that may write nobody makes the
    // server buffer a body (up to maxBytes), and the answer is 404/401/403 whatever the body's
    // size or type.
    const authenticator = options.authenticator?.on ? options.authenticator : null;
    scope.addHook("onRequest", async (request, reply) => {
      if (!options.token && !authenticator) {
        return reply.code(404).send({
          error:
            "POST /ingest is off: set TRAILGRAPH_INGEST_TOKEN to turn it on " +
            "(or turn authentication on and push with a credential that may write).",
        });
      }
      const expected = authenticator
        ? `<TRAILGRAPH_INGEST_TOKEN, an API key created with --write, or a JWT with a write grant>`
        : "<TRAILGRAPH_INGEST_TOKEN>";
      const refuse = (status: 401 | 403 | 503, why: string) => {
        request.authProblem = why;
        if (status === 401) reply.header("www-authenticate", 'Bearer realm="trailgraph-ingest"');
        return reply.code(status).send({ error: `POST /ingest needs \`Authorization: Bearer ${expected}\`: ${why}` });
      };
      if (options.token && authorized(request.headers.authorization, options.token)) {
        request.principal = INGEST_TOKEN_PRINCIPAL;
      } else if (!authenticator) {
        return refuse(401, request.headers.authorization ? "not the ingest token." : "no credential.");
      } else {
        let principal: Principal;
        try {
          principal = await authenticator.authenticate(request);
        } catch (error) {
          if (!(error instanceof AuthError)) throw error;
          return refuse(error.status, error.message);
        }
        if (!principal.write) return refuse(403, `this credential (${principal.subject}) has no write grant.`);
        request.principal = principal;
      }
      // The content type says nothing here (the reader detects the format), so a header that
      // Fastify would refuse with 415 (empty, `json`, ...) must not refuse the push.
      if (request.headers["content-type"] !== undefined) request.headers["content-type"] = "application/octet-stream";
      // An encoding it cannot undo is refused before the body is read.
      const unknown = contentEncodings(request.headers["content-encoding"]).filter((name) => !DECODERS.has(name));
      if (unknown.length > 0) {
        return reply
          .code(415)
          .header("accept-encoding", "gzip, deflate, br")
          .send({
            error:
              `Content-Encoding ${unknown.map((name) => `'${name}'`).join(", ")} is not supported by POST /ingest: ` +
              "send the body plain, or encoded with gzip (x-gzip), deflate or br.",
          });
      }
    });

    scope.post("/ingest", async (request, reply) => {
      const body = request.body;
      if (!Buffer.isBuffer(body) || body.length === 0) {
        return reply.code(400).send({ error: "The body is empty: send events as JSON, JSON lines or gzip." });
      }
      const encodings = contentEncodings(request.headers["content-encoding"]);
      if ((await decodedSize(body, encodings, maxDecodedBytes)) > maxDecodedBytes) {
        return reply.code(413).send({
          error:
            `The body decodes to more than ${maxDecodedBytes} bytes, the decoded limit of POST /ingest ` +
            "(TRAILGRAPH_INGEST_MAX_DECODED_BYTES). Split it into smaller pushes.",
        });
      }
      // Each push is its own source, so its rejects are kept apart from other pushes'.
      const source = new BodySource(`http:${new Date().toISOString()}:${randomUUID()}`, body, encodings);
      const summary = await ingest(options.dataSource, [source], {
        summaryRejects: options.listedRejects ?? 100,
        accept: writableBy(request.principal!.scope),
      });
      const { files: _files, skipped: _skipped, ...answer } = summary;
      return reply.code(summary.rejected > 0 || summary.damaged.length > 0 ? 422 : 200).send(answer);
    });
  });
}

/**
 * For a credential limited to some accounts: refuses (with the reason stored as any reject's)
 * an event owned by another account, or by none. Unrestricted: every event.
 */
function writableBy(scope: TenantScope): ((event: NormalizedEvent) => string | null) | undefined {
  if (scope.unrestricted) return undefined;
  return (event) => {
    if (event.accountId === null) return "event belongs to no account, which this credential may not write";
    return scope.allows(event.accountId)
      ? null
      : `event belongs to account ${event.accountId}, which this credential may not write`;
  };
}

function authorized(header: string | undefined, token: string): boolean {
  const match = /^Bearer\s+(.+)$/i.exec(header ?? "");
  if (!match) return false;
  const given = Buffer.from(match[1].trim());
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The codings of a Content-Encoding header, in the order they were applied (lower case, empty ones dropped). */
function contentEncodings(header: string | string[] | undefined): string[] {
  const value = Array.isArray(header) ? header.join(",") : (header ?? "");
  return value
    .split(",")
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== "");
}

/** The body with its Content-Encoding undone (the last coding applied is undone first). */
function decode(body: Buffer, encodings: readonly string[]): Chunks {
  let chunks: Chunks = Readable.from([body], { objectMode: false });
  for (const name of [...encodings].reverse()) chunks = DECODERS.get(name)?.(chunks) ?? chunks;
  return chunks;
}

/** Chunks through a zlib stream (its errors and the input's come out of the iteration). */
function through(chunks: Chunks, transform: Transform): Chunks {
  const input = Readable.from(chunks, { objectMode: false });
  input.on("error", (error) => transform.destroy(error));
  return input.pipe(transform);
}

/** The first `bytes` bytes (fewer at the end), and every chunk again from the start. */
async function peek(chunks: Chunks, bytes: number): Promise<{ head: Buffer; rest: Chunks }> {
  const iterator = chunks[Symbol.asyncIterator]();
  let head = Buffer.alloc(0);
  while (head.length < bytes) {
    const next = await iterator.next();
    if (next.done) break;
    head = Buffer.concat([head, next.value]);
  }
  const rest = async function* () {
    if (head.length > 0) yield head;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield next.value;
    }
  };
  return { head, rest: rest() };
}

/**
 * Bytes the reader would parse: the body decoded, then gzip undone (the reader recognises it
 * by content). Counted without keeping anything; stops as soon as it passes `limit`. A body
 * that cannot be decoded counts up to the damage: the ingest reports it (422).
 */
async function decodedSize(body: Buffer, encodings: readonly string[], limit: number): Promise<number> {
  if (!encodings.some((name) => DECODERS.get(name)) && !isGzip(body)) return body.length;
  let total = 0;
  try {
    let chunks = decode(body, encodings);
    for (let layer = 0; ; layer++) {
      const { head, rest } = await peek(chunks, 2);
      chunks = rest;
      if (!isGzip(head) || layer === MAX_GZIP_LAYERS) break;
      chunks = through(chunks, createGunzip());
    }
    for await (const chunk of chunks) {
      total += chunk.length;
      if (total > limit) break;
    }
  } catch {
    // Damaged: counted up to the damage.
  }
  return total;
}

/** A pushed body as a source: its Content-Encoding undone, then read as any input. */
class BodySource implements EventSource {
  readonly defaultAccountId = null;
  readonly size: number;
  private started = false;

  constructor(
    readonly name: string,
    private readonly body: Buffer,
    private readonly encodings: readonly string[],
  ) {
    this.size = body.length;
  }

  async *records(): AsyncIterable<RawRecord> {
    this.started = true;
    try {
      yield* readRecords(decode(this.body, this.encodings));
    } catch (error) {
      // A body its Content-Encoding cannot undo is damaged input, like a truncated gzip.
      if (error instanceof InputError || !this.encodings.some((name) => DECODERS.get(name))) throw error;
      throw new InputError(
        `damaged ${this.encodings.join(", ")} body (${error instanceof Error ? error.message : String(error)})`,
        0,
        0,
        { cause: error },
      );
    }
  }

  /** The body's bytes as sent, once reading has started. */
  bytesRead(): number {
    return this.started ? this.body.length : 0;
  }
}

function isGzip(bytes: Buffer): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** A zlib stream header (RFC 1950): deflate method, and the check bits. */
function isZlibHeader(bytes: Buffer): boolean {
  return bytes.length >= 2 && (bytes[0] & 0x0f) === 8 && bytes[0] >> 4 <= 7 && ((bytes[0] << 8) | bytes[1]) % 31 === 0;
}
