/**
 * Whole-store comparisons for the ingest tests. Two kinds of snapshot:
 *
 * - by natural keys (`snapshotGraphTables`, `snapshotTables`): surrogate keys replaced by the
 *   natural keys they stand for, so that two stores filled by different runs (from different
 *   formats, in a different order, by several processes, after a crash) compare row for row;
 * - with surrogate keys (`snapshotTablesWithKeys`): every column as stored, so that a store
 *   compares with itself before and after more ingests (nothing renumbered, nothing added).
 */
import type { DataSource } from "typeorm";
import { expect } from "vitest";

export const GRAPH_TABLES = [
  "accounts",
  "events",
  "event_payloads",
  "identities",
  "resources",
  "orders",
  "order_items",
  "event_resources",
  "event_orders",
  "event_daily_counts",
  "event_period_counts",
] as const;

/** Every table of the store, each as a sorted list of rows (one JSON string per row). */
export type TablesSnapshot = Record<string, string[]>;

const QUERIES: Record<(typeof GRAPH_TABLES)[number], [sql: string, omit: string[]]> = {
  accounts: ["SELECT * FROM accounts", []],
  events: [
    "SELECT e.*, i.identity_key AS identity_ref FROM events e LEFT JOIN identities i ON i.pk = e.identity_pk",
    ["pk", "identity_pk"],
  ],
  event_payloads: [
    "SELECT p.*, e.event_id AS event_ref FROM event_payloads p LEFT JOIN events e ON e.pk = p.event_pk",
    ["event_pk"],
  ],
  identities: ["SELECT * FROM identities", ["pk"]],
  resources: ["SELECT * FROM resources", ["pk"]],
  orders: [
    "SELECT o.*, e.event_id AS purchase_event_ref FROM orders o LEFT JOIN events e ON e.pk = o.purchase_event_pk",
    ["purchase_event_pk"],
  ],
  order_items: [
    "SELECT oi.*, r.type AS resource_type, r.resource_id AS resource_ref " +
      "FROM order_items oi LEFT JOIN resources r ON r.pk = oi.resource_pk",
    ["resource_pk"],
  ],
  event_resources: [
    "SELECT er.*, e.event_id AS event_ref, r.type AS resource_type, r.resource_id AS resource_ref " +
      "FROM event_resources er LEFT JOIN events e ON e.pk = er.event_pk LEFT JOIN resources r ON r.pk = er.resource_pk",
    ["event_pk", "resource_pk"],
  ],
  event_orders: [
    "SELECT eo.*, e.event_id AS event_ref FROM event_orders eo LEFT JOIN events e ON e.pk = eo.event_pk",
    ["event_pk"],
  ],
  // Keyed by natural values only.
  event_daily_counts: ["SELECT * FROM event_daily_counts", []],
  event_period_counts: ["SELECT * FROM event_period_counts", []],
};

/** A column value as a string, the same way whatever the driver returned (Date, Buffer, parsed JSON, number). */
function normalizeValue(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value.toISOString();
  if (Buffer.isBuffer(value)) return value.toString("utf8");
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function storedRow(row: Record<string, unknown>, omit: readonly string[]): StoredRow {
  const out: StoredRow = {};
  for (const key of Object.keys(row).sort()) if (!omit.includes(key)) out[key] = normalizeValue(row[key]);
  return out;
}

function rowText(row: Record<string, unknown>, omit: readonly string[]): string {
  return JSON.stringify(storedRow(row, omit));
}

/**
 * Every graph table by natural keys (the bookkeeping tables aside), so that stores filled
 * from different formats, files or folders, in different orders, compare equal.
 */
export async function snapshotGraphTables(dataSource: DataSource): Promise<TablesSnapshot> {
  const result: TablesSnapshot = {};
  for (const table of GRAPH_TABLES) {
    const [sql, omit] = QUERIES[table];
    const rows: Record<string, unknown>[] = await dataSource.query(sql);
    result[table] = rows.map((row) => rowText(row, omit)).sort();
  }
  return result;
}

/**
 * Every graph table by natural keys, plus `ingested_files` by path, size, md5 and record
 * count (its key is a hash of the path and its time differs from run to run).
 */
export async function snapshotTables(dataSource: DataSource): Promise<TablesSnapshot> {
  const result = await snapshotGraphTables(dataSource);
  const files: Record<string, unknown>[] = await dataSource.query(
    "SELECT path, size, md5, records FROM ingested_files",
  );
  result.ingested_files = files.map((row) => rowText(row, [])).sort();
  return result;
}

/** A row with every column as a string (see normalizeValue), columns in name order. */
export type StoredRow = Record<string, string | null>;

async function columnsOf(dataSource: DataSource, table: string): Promise<string[]> {
  const rows: Array<{ name: string }> =
    dataSource.options.type === "better-sqlite3"
      ? await dataSource.query(`SELECT name FROM pragma_table_info('${table}') ORDER BY cid`)
      : await dataSource.query(
          "SELECT column_name AS name FROM information_schema.columns " +
            "WHERE table_schema = DATABASE() AND table_name = ? ORDER BY ordinal_position",
          [table],
        );
  const names = rows.map((row) => row.name ?? (row as Record<string, string>).NAME);
  expect(names.length, `columns of ${table}`).toBeGreaterThan(0);
  return names;
}

/**
 * Every row of every graph table as stored, surrogate keys included, in a stable order (by
 * every column): for comparing a store with itself, where a renumbered key is a change.
 */
export async function snapshotTablesWithKeys(dataSource: DataSource): Promise<Record<string, StoredRow[]>> {
  const result: Record<string, StoredRow[]> = {};
  for (const table of GRAPH_TABLES) {
    const columns = await columnsOf(dataSource, table);
    const rows: Record<string, unknown>[] = await dataSource.query(
      `SELECT * FROM ${table} ORDER BY ${columns.join(", ")}`,
    );
    result[table] = rows.map((row) => storedRow(row, []));
  }
  return result;
}

/**
 * What differs between two snapshots, table by table: row counts and the first few rows
 * only one side has (`{}` when they are identical). Made for
 * `expect(tableDifferences(actual, expected)).toEqual({})`, which stays readable where a
 * diff of tens of thousands of rows would not.
 */
export function tableDifferences(
  actual: TablesSnapshot,
  expected: TablesSnapshot,
  shown = 3,
): Record<string, { actualRows: number; expectedRows: number; onlyActual: string[]; onlyExpected: string[] }> {
  const out: ReturnType<typeof tableDifferences> = {};
  for (const table of new Set([...Object.keys(expected), ...Object.keys(actual)])) {
    const a = actual[table] ?? [];
    const e = expected[table] ?? [];
    const counts = new Map<string, number>();
    for (const row of e) counts.set(row, (counts.get(row) ?? 0) + 1);
    const onlyActual: string[] = [];
    for (const row of a) {
      const left = counts.get(row) ?? 0;
      if (left > 0) counts.set(row, left - 1);
      else onlyActual.push(row);
    }
    const onlyExpected = [...counts].flatMap(([row, n]) => Array<string>(n).fill(row));
    if (a.length !== e.length || onlyActual.length > 0 || onlyExpected.length > 0) {
      out[table] = {
        actualRows: a.length,
        expectedRows: e.length,
        onlyActual: onlyActual.slice(0, shown),
        onlyExpected: onlyExpected.slice(0, shown),
      };
    }
  }
  return out;
}

export async function countRows(dataSource: DataSource, table: string, where = ""): Promise<number> {
  const [row] = await dataSource.query(`SELECT COUNT(*) AS n FROM ${table}${where ? ` WHERE ${where}` : ""}`);
  return Number(row.n);
}

/** The `ingested_files` rows, completion time included, by path. */
export async function ingestedFileRows(
  dataSource: DataSource,
): Promise<Array<{ path: string; size: number; md5: string; records: number; completedAt: string }>> {
  const rows: Record<string, unknown>[] = await dataSource.query(
    "SELECT path, size, md5, records, completed_at FROM ingested_files",
  );
  return rows
    .map((row) => ({
      path: String(row.path),
      size: Number(row.size),
      md5: String(row.md5),
      records: Number(row.records),
      completedAt: normalizeValue(row.completed_at) ?? "",
    }))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
