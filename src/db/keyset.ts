import type { Dialect } from "./dialect";
import { and, or, type Sql } from "./sql";
import { UserInputError } from "../schema/errors";

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 500;

export type Direction = "ASC" | "DESC";

/** A sort key column and how its values travel in cursors. */
export interface SortColumn {
  column: string;
  kind: "time" | "int" | "string";
}

/** A validated page request: which way to read, how many, from which cursors. */
export interface PageRequest {
  /** Rows wanted. */
  size: number;
  /** True for `last`/`before` pages: read against the order, then reverse. */
  backward: boolean;
  after: unknown[] | null;
  before: unknown[] | null;
}

export interface PageArgs {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
}

/**
 * Checks Relay arguments: `first` or `last` (not both), 0 to 500, default 20; cursors must
 * come from the same list and order (`cursorTag`).
 */
export function pageRequest(args: PageArgs, cursorTag: string, sort: readonly SortColumn[]): PageRequest {
  const { first, last } = args;
  if (first != null && last != null) {
    throw new UserInputError("Pass either `first` or `last`, not both.", "first");
  }
  for (const [name, value] of [
    ["first", first],
    ["last", last],
  ] as const) {
    if (value != null && (value < 0 || value > MAX_PAGE_SIZE)) {
      throw new UserInputError(
        `\`${name}\` is ${value}; it must be between 0 and ${MAX_PAGE_SIZE}. Page through larger lists with cursors.`,
        name,
      );
    }
  }
  return {
    size: first ?? last ?? DEFAULT_PAGE_SIZE,
    backward: last != null,
    after: args.after != null ? decodeCursor(args.after, "after", cursorTag, sort) : null,
    before: args.before != null ? decodeCursor(args.before, "before", cursorTag, sort) : null,
  };
}

/**
 * Cursors are base64url JSON `[tag, ...sortValues]`; times travel as epoch milliseconds. The
 * JSON text is written here rather than by `JSON.stringify` of a new array: a page of 50 edges
 * encodes 50 cursors, and this takes a quarter off their cost (same text, same cursors).
 */
export function encodeCursor(tag: string, values: readonly unknown[]): string {
  let text = `[${JSON.stringify(tag)}`;
  for (const value of values) text += `,${Number.isFinite(value) ? value : JSON.stringify(value)}`;
  return Buffer.from(`${text}]`, "utf8").toString("base64url");
}

/** The last instant an event time can have (9999-12-31T23:59:59.999Z); a cursor's time lies in 1970..9999. */
const LAST_TIME_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

function decodeCursor(cursor: string, argument: string, tag: string, sort: readonly SortColumn[]): unknown[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    parsed = undefined;
  }
  const valid =
    Array.isArray(parsed) &&
    parsed.length === sort.length + 1 &&
    parsed[0] === tag &&
    sort.every((column, index) => {
      const value = parsed[index + 1];
      if (column.kind === "string") return typeof value === "string";
      if (column.kind === "time") return Number.isSafeInteger(value) && value >= 0 && value <= LAST_TIME_MS;
      return Number.isSafeInteger(value);
    });
  if (!valid) {
    throw new UserInputError(
      `\`${argument}\` cursor '${cursor}' does not belong to this list and order; use a cursor this list returned.`,
      argument,
    );
  }
  return (parsed as unknown[]).slice(1);
}

/** `_k0`, `_k1`, ...: the aliases sort keys are selected under (`sortKeyAlias`). */
const SORT_KEY_ALIASES = Array.from({ length: 8 }, (_, index) => `_k${index}`);

export function sortKeyAlias(index: number): string {
  return SORT_KEY_ALIASES[index] ?? `_k${index}`;
}

/** The cursor values of a row whose sort keys were selected as `_k0`, `_k1`, ... */
export function sortValues(d: Dialect, row: Record<string, unknown>, sort: readonly SortColumn[]): unknown[] {
  return sort.map((column, index) => {
    const value = row[sortKeyAlias(index)];
    if (column.kind === "time") return d.readTime(value).getTime();
    if (column.kind === "int") return Number(value);
    return String(value);
  });
}

/**
 * Rows strictly after (`after: true`) or before a cursor in the given order, in the
 * expanded form `a > ? OR (a = ? AND b > ?)`: MariaDB reads a row comparison `(a, b) > (?, ?)`
 * by scanning the whole index, and this form as one range.
 */
export function keysetCondition(
  d: Dialect,
  sort: readonly SortColumn[],
  values: readonly unknown[],
  direction: Direction,
  after: boolean,
): Sql {
  const op = (direction === "DESC") === after ? "<" : ">";
  const bound = values.map((value, index) => (sort[index].kind === "time" ? d.time(new Date(value as number)) : value));
  const branches: Sql[] = [];
  for (let i = 0; i < sort.length; i++) {
    const equal = sort.slice(0, i).map((column, j) => ({ text: `${column.column} = ?`, params: [bound[j]] }));
    branches.push(and([...equal, { text: `${sort[i].column} ${op} ?`, params: [bound[i]] }]));
  }
  return or(branches);
}
