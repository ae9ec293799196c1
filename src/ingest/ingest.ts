import type { DataSource } from "typeorm";
import { normalizeEvent, RejectedRecord, type NormalizedEvent } from "./normalize";
import type { EventSource } from "./sources";
import { EventWriter } from "./writer";

export interface Rejection {
  source: string;
  position: string;
  reason: string;
}

export interface IngestSummary {
  sources: number;
  read: number;
  inserted: number;
  duplicates: number;
  rejected: Rejection[];
  elapsedMs: number;
}

export interface IngestOptions {
  /** Owner of events that name no account of their own (`--account`). */
  defaultAccountId?: string | null;
  batchSize?: number;
}

/**
 * Reads every source, normalizes each record and writes them in batches. A bad record is
 * rejected with its source and position; it never stops the others.
 */
export async function ingest(
  dataSource: DataSource,
  sources: readonly EventSource[],
  options: IngestOptions = {},
): Promise<IngestSummary> {
  const started = Date.now();
  const writer = new EventWriter(dataSource);
  const batchSize = options.batchSize ?? 1000;
  const summary: IngestSummary = { sources: 0, read: 0, inserted: 0, duplicates: 0, rejected: [], elapsedMs: 0 };
  let batch: NormalizedEvent[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const result = await writer.write(batch);
    summary.inserted += result.inserted;
    summary.duplicates += result.duplicates;
    batch = [];
  };

  for (const source of sources) {
    summary.sources++;
    for await (const record of source.records()) {
      summary.read++;
      if ("error" in record) {
        summary.rejected.push({ source: source.name, position: record.position, reason: record.error });
        continue;
      }
      try {
        batch.push(normalizeEvent(record.value, { defaultAccountId: options.defaultAccountId }));
      } catch (error) {
        if (!(error instanceof RejectedRecord)) throw error;
        summary.rejected.push({ source: source.name, position: record.position, reason: error.reason });
        continue;
      }
      if (batch.length >= batchSize) await flush();
    }
  }
  await flush();
  summary.elapsedMs = Date.now() - started;
  return summary;
}
