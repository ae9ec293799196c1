/**
 * Writes generated events the way ActionTrail delivers them, or as JSON lines.
 *
 * OSS layout (a trail delivering to a bucket): gzip files, each a JSON array of the events
 * of one region in one 5-minute window, at
 *
 *   <out>/AliyunLogs/Actiontrail/<region>/YYYY/MM/DD/
 *       Actiontrail_<region>_<YYYYMMDDHHMMSS>_1002_<count>_<size>_<md5>.gz
 *
 * and, for a multi-account trail, `<out>/AliyunLogs/Actiontrail/<rd_id>/<accountId>/<region>/...`
 * (one file per account, region and window). The time in the name and the date folders are
 * the window's start in UTC; <count> is the number of events in the file, <size> the
 * uncompressed size of its JSON in bytes, and <md5> the lower-case hex MD5 of the gzip file
 * itself (what `md5sum` prints for it, so a reader can check a download).
 *
 * JSON lines: `<out>/events.ndjson`, one event a line; past `maxFileBytes` the stream goes on
 * in `events-2.ndjson`, `events-3.ndjson`...
 *
 * Memory: events arrive in time order, so only the current window is held, as serialized
 * JSON (the files of one window: one per region, or per account and region), plus at most
 * the compressed bytes of the few files being written.
 */
import { createHash } from "node:crypto";
import { mkdir, open, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { eventAccountId, generateEvents, resourceDirectoryId, type GenerateOptions } from "./generator";

export type OutputFormat = "oss" | "ndjson";

export interface WriteOptions extends GenerateOptions {
  /** Folder to write into (created when missing). */
  out: string;
  format: OutputFormat;
  /** OSS layout of a multi-account trail: `<rd_id>/<accountId>/` before the region. */
  multiAccount?: boolean;
  /** JSON lines: start a new file past this many bytes (default 1 GiB). */
  maxFileBytes?: number;
}

export interface WriteSummary {
  files: number;
  events: number;
  /** Bytes written to disk (compressed for the OSS layout). */
  bytes: number;
}

/** Length of a delivery window. */
export const WINDOW_SECONDS = 300;
/** Files being written concurrently (the file system works on the thread pool meanwhile). */
const IN_FLIGHT = 8;

export async function writeGenerated(options: WriteOptions): Promise<WriteSummary> {
  if (typeof options.out !== "string" || options.out.trim() === "") throw new Error("out must be a folder path");
  await mkdir(options.out, { recursive: true });
  if (options.format === "ndjson") return writeNdjson(options);
  if (options.format === "oss") return writeOss(options);
  throw new Error(`format must be "oss" or "ndjson", got ${JSON.stringify(options.format)}`);
}

async function writeNdjson(options: WriteOptions): Promise<WriteSummary> {
  const limit = options.maxFileBytes ?? 1024 ** 3;
  if (!(limit > 0)) throw new Error("maxFileBytes must be positive");
  const summary: WriteSummary = { files: 0, events: 0, bytes: 0 };
  let handle: Awaited<ReturnType<typeof open>> | null = null;
  let fileBytes = 0;
  let chunk: string[] = [];
  let chunkBytes = 0;

  const flush = async () => {
    if (chunk.length === 0 || handle === null) return;
    const data = chunk.join("");
    chunk = [];
    chunkBytes = 0;
    await handle.write(data);
  };
  const nextFile = async () => {
    await flush();
    await handle?.close();
    summary.files++;
    const name = summary.files === 1 ? "events.ndjson" : `events-${summary.files}.ndjson`;
    handle = await open(join(options.out, name), "w");
    fileBytes = 0;
  };

  try {
    for (const event of generateEvents(options)) {
      const line = `${JSON.stringify(event)}\n`;
      const size = Buffer.byteLength(line);
      if (handle === null || (fileBytes > 0 && fileBytes + size > limit)) await nextFile();
      chunk.push(line);
      chunkBytes += size;
      fileBytes += size;
      summary.bytes += size;
      summary.events++;
      if (chunkBytes >= 1 << 22) await flush();
    }
    if (handle === null) await nextFile(); // no events: still an (empty) file
    await flush();
  } finally {
    await (handle as Awaited<ReturnType<typeof open>> | null)?.close();
  }
  return summary;
}

async function writeOss(options: WriteOptions): Promise<WriteSummary> {
  const summary: WriteSummary = { files: 0, events: 0, bytes: 0 };
  const root = join(options.out, "AliyunLogs", "Actiontrail");
  const rdId = resourceDirectoryId(options.seed);
  const multi = options.multiAccount === true;
  /** The current window's events, serialized, by folder (relative to root) and region. */
  let buffers = new Map<string, { folder: string; region: string; parts: string[]; bytes: number }>();
  let window = -1;
  const madeFolders = new Set<string>();
  const inFlight: Array<Promise<void>> = [];

  const writeFileOf = async (folder: string, region: string, start: number, parts: string[], jsonBytes: number) => {
    const json = Buffer.from(`[${parts.join(",")}]`);
    if (json.length !== jsonBytes) throw new Error("oss-writer: size bookkeeping is off");
    // Compressing a few kilobytes is quicker here than a round trip to the thread pool, and a
    // window no larger than the input spares zlib most of its 256 KB of state per file.
    const windowBits = Math.min(15, Math.max(9, Math.ceil(Math.log2(json.length + 1))));
    const compressed = gzipSync(json, { windowBits, memLevel: windowBits >= 14 ? 8 : 7 });
    const md5 = createHash("md5").update(compressed).digest("hex");
    const stamp = new Date(start * 1000).toISOString();
    const [year, month, day] = [stamp.slice(0, 4), stamp.slice(5, 7), stamp.slice(8, 10)];
    const time = `${year}${month}${day}${stamp.slice(11, 13)}${stamp.slice(14, 16)}${stamp.slice(17, 19)}`;
    const dir = join(root, folder, year, month, day);
    if (!madeFolders.has(dir)) {
      await mkdir(dir, { recursive: true });
      madeFolders.add(dir);
    }
    const name = `Actiontrail_${region}_${time}_1002_${parts.length}_${json.length}_${md5}.gz`;
    await writeFile(join(dir, name), compressed);
    summary.files++;
    summary.bytes += compressed.length;
  };

  const closeWindow = async () => {
    const keys = [...buffers.keys()].sort();
    for (const key of keys) {
      const buffer = buffers.get(key) as { folder: string; region: string; parts: string[]; bytes: number };
      const writing = writeFileOf(buffer.folder, buffer.region, window, buffer.parts, buffer.bytes);
      writing.catch(() => {}); // awaited below; this only keeps a failure from going unhandled meanwhile
      inFlight.push(writing);
      if (inFlight.length >= IN_FLIGHT) await (inFlight.shift() as Promise<void>);
    }
    buffers = new Map();
    // The folder cache only needs the current day.
    if (madeFolders.size > 10_000) madeFolders.clear();
  };

  try {
    for (const event of generateEvents(options)) {
      const seconds = Math.floor(Date.parse(event.eventTime as string) / 1000);
      const eventWindow = seconds - (seconds % WINDOW_SECONDS);
      if (eventWindow !== window) {
        if (window >= 0) await closeWindow();
        window = eventWindow;
      }
      const region = typeof event.acsRegion === "string" && event.acsRegion !== "" ? event.acsRegion : "cn-hangzhou";
      const folder = multi ? join(rdId, eventAccountId(event), region) : region;
      let buffer = buffers.get(folder);
      if (!buffer) {
        buffer = { folder, region, parts: [], bytes: 2 };
        buffers.set(folder, buffer);
      }
      const json = JSON.stringify(event);
      buffer.bytes += Buffer.byteLength(json) + (buffer.parts.length > 0 ? 1 : 0);
      buffer.parts.push(json);
      summary.events++;
    }
    if (window >= 0) await closeWindow();
  } finally {
    await Promise.all(inFlight);
  }
  return summary;
}
