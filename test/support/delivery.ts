/**
 * Helpers for the tests that run `trailgraph ingest` (the built CLI, see ./cli.ts) on delivery
 * files: the bundled samples, writing events in every delivery format, and reading a store
 * back (the whole-store snapshots are in ./tables.ts).
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { gzipSync } from "node:zlib";
import type { DataSource } from "typeorm";

export const SAMPLES = resolve("samples/events.json");
export const samples = JSON.parse(readFileSync(SAMPLES, "utf8")) as Array<Record<string, unknown>>;

// ---------------------------------------------------------------------------------------------
// Delivery formats

export const gzip = (data: string | Buffer): Buffer => gzipSync(data);

export const jsonArray = (events: unknown[]): string => JSON.stringify(events);

export const jsonLines = (values: unknown[]): string => values.map((value) => JSON.stringify(value)).join("\n") + "\n";

/** One SLS log of an ActionTrail event, the event as a JSON string in `event`. */
export function slsRecord(event: Record<string, unknown>): Record<string, unknown> {
  return {
    __topic__: "actiontrail_audit_event",
    __source__: "actiontrail",
    __time__: Math.floor(Date.parse(String(event.eventTime)) / 1000),
    event: JSON.stringify(event),
  };
}

/** A LookupEvents response page. */
export function lookupPage(events: unknown[], nextToken = ""): Record<string, unknown> {
  return {
    RequestId: "0B2E7E8B-0000-4C5A-9A31-3D8E0F3F4C11",
    StartTime: "2021-01-01T00:00:00Z",
    EndTime: "2021-12-31T23:59:59Z",
    NextToken: nextToken,
    Events: events,
  };
}

// ---------------------------------------------------------------------------------------------
// Reading a store back

export async function storedEventIds(dataSource: DataSource): Promise<string[]> {
  const rows: Array<{ event_id: string }> = await dataSource.query("SELECT event_id FROM events");
  return rows.map((row) => row.event_id).sort();
}

/** Empties every table, bookkeeping included, so that the next case starts from a new store. */
export async function clearStore(dataSource: DataSource): Promise<void> {
  // Children before parents, so that foreign keys hold on both stores.
  for (const table of [
    "event_orders",
    "event_resources",
    "order_items",
    "event_payloads",
    "events",
    "orders",
    "resources",
    "identities",
    "accounts",
    "ingested_files",
    "ingest_rejects",
  ]) {
    await dataSource.query(`DELETE FROM ${table}`);
  }
}
