import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { resolve } from "node:path";
import type { DataSource } from "typeorm";
import { InputError } from "./formats/read-records";
import { normalizeEvent, RejectedRecord, type NormalizedEvent } from "./normalize";
import { FileSource, md5FromOssName, StreamSource, type EventSource } from "./sources";
import { EventWriter, type CompletedFile, type RejectRow } from "./writer";

export interface Rejection {
  source: string;
  position: string;
  byteOffset?: number;
  reason: string;
  /** The record's text, when it could be read (cut at 16 KiB). */
  text?: string;
}

export interface IngestSummary {
  /** Sources read (files, stdin, bodies), skipped ones excluded. */
  files: number;
  /** Files skipped because they were already ingested whole. */
  skipped: number;
  read: number;
  inserted: number;
  duplicates: number;
  rejected: number;
  /** The first rejections (all of them are in the rejects table and file). */
  rejects: Rejection[];
  /** Sources that ended early: a damaged or truncated gzip, a read error. */
  damaged: Array<{ source: string; reason: string }>;
  bytes: number;
  elapsedMs: number;
  eventsPerSecond: number;
}

export function emptySummary(): IngestSummary {
  return {
    files: 0,
    skipped: 0,
    read: 0,
    inserted: 0,
    duplicates: 0,
    rejected: 0,
    rejects: [],
    damaged: [],
    bytes: 0,
    elapsedMs: 0,
    eventsPerSecond: 0,
  };
}

export interface IngestProgress {
  filesDone: number;
  bytesDone: number;
  read: number;
  elapsedMs: number;
}

export interface IngestOptions {
  /** Owner of events that name no account of their own and come from no OSS account path. */
  defaultAccountId?: string | null;
  batchSize?: number;
  /** Bytes of event JSON after which a batch is written whatever its count (default 32 MiB). */
  batchBytes?: number;
  /** Read files again even when they were ingested whole before. */
  force?: boolean;
  /** Called for every rejection, in order (the CLI's rejects file). */
  onReject?: (rejection: Rejection) => void;
  /** Called after every batch and file. */
  onProgress?: (progress: IngestProgress) => void;
  /** How many rejections the summary lists. */
  summaryRejects?: number;
  /** Stops between sources: what was read so far is written, the rest is left for a re-run. */
  signal?: AbortSignal;
  /** Refuses a normalized event with the reason it returns (POST /ingest: a credential's accounts). */
  accept?: (event: NormalizedEvent) => string | null;
}

/** Told each finished ingest's summary and the newest event time it accepted (ms; null: none). */
export type IngestObserver = (summary: IngestSummary, newestEventMs: number | null) => void;

// The server's metrics (src/server/metrics.ts) watch the ingests into their app's DataSource;
// the CLI has no endpoint to show them, so it registers nothing.
const observers = new WeakMap<DataSource, IngestObserver>();

/** Has `observer` told of every ingest into `dataSource` that finishes (`false`: no longer). */
export function observeIngests(dataSource: DataSource, observer: IngestObserver, on = true): void {
  if (on) observers.set(dataSource, observer);
  else if (observers.get(dataSource) === observer) observers.delete(dataSource);
}

const TEXT_LIMIT = 16 * 1024;
/**
 * A batch is written once it holds this many bytes of event JSON, whatever its count: one
 * batch is held while the one before it is written, so this bounds the writer's memory.
 */
const BATCH_BYTES = 32 * 1024 * 1024;

/**
 * Reads every source, normalizes each record and writes them in batches. A bad record is
 * rejected with its source and position and never stops the others; a damaged source
 * keeps what was read before the damage. A file is recorded as ingested in the same
 * transaction as its last records, so a run killed at any moment and run again ends with
 * exactly the rows of one clean run, and a finished file is skipped on the next run.
 */
export async function ingest(
  dataSource: DataSource,
  sources: readonly EventSource[],
  options: IngestOptions = {},
): Promise<IngestSummary> {
  const started = Date.now();
  const writer = await new EventWriter(dataSource).open();
  const batchSize = options.batchSize ?? 1000;
  const batchBytesLimit = options.batchBytes ?? BATCH_BYTES;
  const summaryRejects = options.summaryRejects ?? 100;
  const summary = emptySummary();
  let batch: NormalizedEvent[] = [];
  let batchBytes = 0;
  let rejects: RejectRow[] = [];
  let files: CompletedFile[] = [];
  let bytesBefore = 0;
  let current: EventSource | null = null;
  let newestEventMs: number | null = null;
  const progress = () =>
    options.onProgress?.({
      // The source being read is not done yet.
      filesDone: summary.files + summary.skipped - (current ? 1 : 0),
      bytesDone: bytesBefore + (current?.bytesRead() ?? 0),
      read: summary.read,
      elapsedMs: Date.now() - started,
    });
  // One batch is written while the next is read and normalized: reading and the
  // database each keep a core busy. Batches still commit one at a time, in order.
  let writing: Promise<void> = Promise.resolve();
  const flush = async () => {
    if (batch.length === 0 && rejects.length === 0 && files.length === 0) return;
    const [events, bookkeeping] = [batch, { rejects, files }];
    batch = [];
    batchBytes = 0;
    rejects = [];
    files = [];
    await writing;
    writing = writer.write(events, bookkeeping).then((result) => {
      summary.inserted += result.inserted;
      summary.duplicates += result.duplicates;
      progress();
    });
    // Unhandled until awaited: keep the rejection for the next await, not the process.
    writing.catch(() => {});
  };
  const reject = (rejection: Rejection) => {
    summary.rejected++;
    if (summary.rejects.length < summaryRejects) summary.rejects.push(rejection);
    options.onReject?.(rejection);
    rejects.push(rejectRow(rejection));
  };
  const known = options.force ? new Map<string, CompletedFile>() : await writer.completedFiles();

  for (const source of sources) {
    if (options.signal?.aborted) break;
    if (source instanceof FileSource && (await alreadyIngested(source, known))) {
      summary.skipped++;
      bytesBefore += source.size ?? 0;
      progress();
      continue;
    }
    current = source;
    summary.files++;
    let records = 0;
    try {
      for await (const record of source.records()) {
        summary.read++;
        records++;
        if (record.error !== undefined) {
          reject({
            source: source.name,
            position: record.position,
            byteOffset: record.byteOffset,
            reason: record.error,
            text: record.text,
          });
        } else {
          try {
            const event = normalizeEvent(record.value, {
              defaultAccountId: source.defaultAccountId ?? options.defaultAccountId,
            });
            const unstorable = writer.unstorable(event) ?? options.accept?.(event) ?? null;
            if (unstorable !== null) throw new RejectedRecord(unstorable);
            batch.push(event);
            const eventMs = event.eventTime.getTime();
            if (newestEventMs === null || eventMs > newestEventMs) newestEventMs = eventMs;
            batchBytes += event.payload.rawText.length;
          } catch (error) {
            if (!(error instanceof RejectedRecord)) throw error;
            reject({
              source: source.name,
              position: record.position,
              byteOffset: record.byteOffset,
              reason: error.reason,
              text: record.text ?? safeJson(record.value),
            });
          }
        }
        if (batch.length >= batchSize || batchBytes >= batchBytesLimit || rejects.length >= batchSize) await flush();
      }
      if (source instanceof FileSource) files.push(completedFile(source, records));
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      summary.damaged.push({ source: source.name, reason: error.message });
      reject({ source: source.name, position: `byte ${source.bytesRead()}`, reason: error.message });
    }
    bytesBefore += source.bytesRead();
    current = null;
  }
  await flush();
  await writing;
  summary.bytes = bytesBefore;
  summary.elapsedMs = Date.now() - started;
  summary.eventsPerSecond = Math.round(summary.read / Math.max(summary.elapsedMs / 1000, 0.001));
  observers.get(dataSource)?.(summary, newestEventMs);
  return summary;
}

/** Same path, same size, same content (the md5 an OSS name carries, else the file's own). */
async function alreadyIngested(source: FileSource, known: Map<string, CompletedFile>): Promise<boolean> {
  const done = known.get(pathKey(source.path));
  if (!done || done.size !== source.size) return false;
  // The md5 an OSS name carries spares reading the file. A name that does not match what was
  // read (a file rewritten in place, a bad download) is no proof either way: hash the content.
  const named = md5FromOssName(source.path);
  if (named !== null && named === done.md5) return true;
  return (await md5OfFile(source.path)) === done.md5;
}

/** md5 of a file's bytes, read as a stream. */
export async function md5OfFile(path: string): Promise<string> {
  const hash = createHash("md5");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

function completedFile(source: StreamSource & { path: string }, records: number): CompletedFile {
  return {
    pathKey: pathKey(source.path),
    path: source.path,
    size: source.size ?? source.bytesRead(),
    md5: source.md5() ?? "",
    records,
  };
}

/** Files are known by their absolute path, whatever folder a run starts in. */
export function pathKey(path: string): string {
  return createHash("sha256").update(resolve(path)).digest("hex");
}

function rejectRow(rejection: Rejection): RejectRow {
  return {
    rejectKey: createHash("sha256")
      .update(JSON.stringify([rejection.source, rejection.position, rejection.reason]))
      .digest("hex"),
    source: rejection.source.slice(0, 1024),
    position: rejection.position.slice(0, 255),
    byteOffset: rejection.byteOffset ?? null,
    reason: rejection.reason,
    text: rejection.text === undefined ? null : rejection.text.slice(0, TEXT_LIMIT),
  };
}

function safeJson(value: unknown): string | undefined {
  try {
    return JSON.stringify(value)?.slice(0, TEXT_LIMIT);
  } catch {
    return undefined;
  }
}
