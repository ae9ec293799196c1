import { constants } from "node:zlib";
import compress from "@fastify/compress";
import type { FastifyInstance } from "fastify";
import { SettingsError } from "../auth/settings";

/** Answers smaller than this go plain: compressing them saves less than it costs. */
export const COMPRESSION_THRESHOLD = 1024;
/**
 * Answers up to this size are compressed in one synchronous call; larger ones through a zlib
 * stream on libuv's pool. The stream's setup costs more than compressing a page of 50 events
 * (13 KB: about 0.1 ms), so the plugin's default for a 2-core host (8 KiB) halved req/s there
 * (bench/metrics.ts); 64 KiB blocks the event loop for well under a millisecond.
 */
const SYNC_LIMIT = 64 * 1024;
/** brotli's default quality (11) takes tens of ms per page; 4 compresses about as well as gzip, faster. */
const BROTLI_QUALITY = 4;

/** TRAILGRAPH_COMPRESSION: compress answers for clients that ask (on, the default), or never (off: a proxy in front does it). */
export function compressionSetting(env: NodeJS.ProcessEnv = process.env): boolean {
  const value = env.TRAILGRAPH_COMPRESSION?.trim().toLowerCase() ?? "";
  if (["", "on", "1", "true"].includes(value)) return true;
  if (["off", "0", "false"].includes(value)) return false;
  throw new SettingsError(`TRAILGRAPH_COMPRESSION '${env.TRAILGRAPH_COMPRESSION}' is neither on nor off.`);
}

/**
 * Compresses answers of 1 KiB and more with br or gzip, as the client's Accept-Encoding asks
 * (nothing without it). An answer that already says its encoding (GraphiQL's page, gzipped
 * once when built) is left alone. Request bodies are not touched: POST /ingest undoes their
 * Content-Encoding itself, within its decoded size limit.
 */
export async function registerCompression(app: FastifyInstance): Promise<void> {
  await app.register(compress, {
    globalCompression: true,
    globalDecompression: false,
    encodings: ["br", "gzip"],
    threshold: COMPRESSION_THRESHOLD,
    syncThreshold: SYNC_LIMIT,
    brotliOptions: { params: { [constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY } },
  });
}
