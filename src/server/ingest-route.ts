import { randomUUID, timingSafeEqual } from "node:crypto";
import type { FastifyInstance } from "fastify";
import type { DataSource } from "typeorm";
import { ingest } from "../ingest/ingest";
import { bufferSource } from "../ingest/sources";

export interface IngestRouteOptions {
  dataSource: DataSource;
  /** The bearer token pushes must carry; without one the endpoint is off. */
  token: string | null;
  /** Largest body accepted, in bytes (as sent, gzip included). */
  maxBytes: number;
  /** Rejections listed in the answer (all are kept in the rejects table). */
  listedRejects?: number;
}

export const DEFAULT_INGEST_MAX_BYTES = 64 * 1024 * 1024;

/**
 * POST /ingest: the same formats as `trailgraph ingest` (events, arrays, JSON lines, SLS
 * records, LookupEvents pages; plain or gzip, by content or Content-Encoding), for pushes
 * from SLS consumers, Function Compute or EventBridge. Answers the ingest summary as JSON:
 * 200 when everything was ingested, 422 when some records were rejected (they are listed,
 * and kept in the rejects table), 401 without the token, 413 above the size limit, 404
 * when no token is configured.
 */
export async function registerIngestRoute(app: FastifyInstance, options: IngestRouteOptions): Promise<void> {
  await app.register(async (scope) => {
    // The body is read as bytes whatever its type: the reader detects the format itself.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser("*", { parseAs: "buffer", bodyLimit: options.maxBytes }, (_request, body, done) =>
      done(null, body),
    );
    scope.setErrorHandler((error: Error & { code?: string; statusCode?: number }, _request, reply) => {
      if (error.code === "FST_ERR_CTP_BODY_TOO_LARGE") {
        return reply.code(413).send({
          error: `The body is larger than ${options.maxBytes} bytes, the limit of POST /ingest (TRAILGRAPH_INGEST_MAX_BYTES). Split it into smaller pushes.`,
        });
      }
      const status = error.statusCode && error.statusCode < 500 ? error.statusCode : 500;
      return reply.code(status).send({ error: status === 500 ? "ingest failed: " + error.message : error.message });
    });

    // Settled before the body is read: without the token nobody makes the server buffer a
    // body (up to maxBytes), and the answer is 404/401 whatever the body's size or type.
    scope.addHook("onRequest", async (request, reply) => {
      if (!options.token) {
        return reply.code(404).send({ error: "POST /ingest is off: set TRAILGRAPH_INGEST_TOKEN to turn it on." });
      }
      if (!authorized(request.headers.authorization, options.token)) {
        return reply
          .code(401)
          .header("www-authenticate", 'Bearer realm="trailgraph-ingest"')
          .send({ error: "POST /ingest needs `Authorization: Bearer <TRAILGRAPH_INGEST_TOKEN>`." });
      }
      // The content type says nothing here (the reader detects the format), so a header that
      // Fastify would refuse with 415 (empty, `json`, ...) must not refuse the push.
      if (request.headers["content-type"] !== undefined) request.headers["content-type"] = "application/octet-stream";
    });

    scope.post("/ingest", async (request, reply) => {
      const body = request.body;
      if (!Buffer.isBuffer(body) || body.length === 0) {
        return reply.code(400).send({ error: "The body is empty: send events as JSON, JSON lines or gzip." });
      }
      // Each push is its own source, so its rejects are kept apart from other pushes'.
      const source = bufferSource(`http:${new Date().toISOString()}:${randomUUID()}`, body);
      const summary = await ingest(options.dataSource, [source], { summaryRejects: options.listedRejects ?? 100 });
      const { files: _files, skipped: _skipped, ...answer } = summary;
      return reply.code(summary.rejected > 0 || summary.damaged.length > 0 ? 422 : 200).send(answer);
    });
  });
}

function authorized(header: string | undefined, token: string): boolean {
  const match = /^Bearer\s+(.+)$/i.exec(header ?? "");
  if (!match) return false;
  const given = Buffer.from(match[1].trim());
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
