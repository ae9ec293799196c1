import type { DataSource } from "typeorm";
import type { StoreKind } from "./datasource";

/**
 * The few places where MySQL/MariaDB and SQLite SQL differ, in one object. Everything else
 * is written once in the common subset (`?` placeholders, snake_case identifiers that
 * need no quoting, `UNION ALL` of derived tables).
 */
export interface Dialect {
  kind: StoreKind;
  /** Most bound parameters one statement may carry. */
  maxParameters: number;
  /** `INSERT IGNORE INTO` / `INSERT OR IGNORE INTO`. */
  insertIgnore: string;
  /** Upsert tail: on conflict of `key`, apply assignments (SQL per column, see `excluded`). */
  onConflict(key: string[], assignments: Record<string, string>): string;
  /** How the incoming row's column is referred to inside `onConflict` assignments. */
  excluded(column: string): string;
  /** Two-argument minimum. */
  least(a: string, b: string): string;
  /** A bindable time value (UTC, millisecond precision). */
  time(date: Date): unknown;
  /** A bindable boolean. */
  bool(value: boolean | null): unknown;
  /** Reads a time column value as a Date. */
  readTime(value: unknown): Date;
  /** Reads a JSON column value. */
  readJson(value: unknown): unknown;
  /**
   * Several SELECTs (each with its own ORDER BY and LIMIT) as one statement. MariaDB
   * materialises a derived table per member, on disk when rows hold TEXT; parenthesised
   * members need none. SQLite accepts only the derived form.
   */
  unionAll(members: ReadonlyArray<{ text: string; params: unknown[] }>): { text: string; params: unknown[] };
}

function unionOf(
  members: ReadonlyArray<{ text: string; params: unknown[] }>,
  wrap: (text: string, index: number) => string,
): { text: string; params: unknown[] } {
  if (members.length === 1) return members[0];
  return {
    text: members.map((member, index) => wrap(member.text, index)).join(" UNION ALL "),
    params: members.flatMap((member) => member.params),
  };
}

const mysql: Dialect = {
  kind: "mysql",
  maxParameters: 60_000,
  insertIgnore: "INSERT IGNORE INTO",
  onConflict: (_key, assignments) =>
    ` ON DUPLICATE KEY UPDATE ${Object.entries(assignments)
      .map(([column, sql]) => `${column} = ${sql}`)
      .join(", ")}`,
  excluded: (column) => `VALUES(${column})`,
  least: (a, b) => `LEAST(${a}, ${b})`,
  time: (date) => date,
  bool: (value) => value,
  readTime: (value) => (value instanceof Date ? value : new Date(`${String(value).replace(" ", "T")}Z`)),
  readJson: (value) => (typeof value === "string" ? JSON.parse(value) : value),
  unionAll: (members) => unionOf(members, (text) => `(${text})`),
};

const sqlite: Dialect = {
  kind: "sqlite",
  // SQLite's compiled-in default limit is 32766.
  maxParameters: 32_000,
  insertIgnore: "INSERT OR IGNORE INTO",
  onConflict: (key, assignments) =>
    ` ON CONFLICT(${key.join(", ")}) DO UPDATE SET ${Object.entries(assignments)
      .map(([column, sql]) => `${column} = ${sql}`)
      .join(", ")}`,
  excluded: (column) => `excluded.${column}`,
  least: (a, b) => `MIN(${a}, ${b})`,
  // The text form TypeORM writes for SQLite datetime columns; it sorts as time does.
  time: (date) => date.toISOString().replace("T", " ").replace("Z", ""),
  bool: (value) => (value === null ? null : value ? 1 : 0),
  readTime: (value) => (value instanceof Date ? value : new Date(`${String(value).replace(" ", "T")}Z`)),
  readJson: (value) => (typeof value === "string" ? JSON.parse(value) : value),
  unionAll: (members) => unionOf(members, (text, index) => `SELECT * FROM (${text}) AS u${index}`),
};

export function dialectOf(dataSource: DataSource): Dialect {
  return dataSource.options.type === "mysql" || dataSource.options.type === "mariadb" ? mysql : sqlite;
}
