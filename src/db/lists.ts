import type { Dialect } from "./dialect";
import { keysetCondition, sortKeyAlias, sortValues, type Direction, type PageRequest, type SortColumn } from "./keyset";
import type { ScopedTable } from "./scope";
import { and, inList, sql, type Sql } from "./sql";

/** Runs one SQL statement; the Store passes its own, so every statement is counted and scoped. */
export type QueryFn = (text: string, params: unknown[]) => Promise<Array<Record<string, unknown>>>;

/**
 * A list that can be paged by keyset: where its rows come from, how they are filtered
 * (tenant scope included) and sorted. `parentColumn` makes it a per-parent list (an
 * account's events), so that the pages of many parents are read in one statement.
 */
export interface ListSpec {
  /** Cursor tag: a cursor of another list or order is rejected. */
  tag: string;
  /** What identifies the list, when its builder has it already (else its JSON is used). */
  key?: string;
  select: string;
  /** True when `select` reads only some columns: its rows must not serve lookups of whole rows. */
  partial?: boolean;
  /** The table (or tables joined) the rows come from, with the tenant scope's conditions. */
  from: ScopedTable;
  /**
   * A row joined to each row of a page (`LEFT JOIN …`, its columns in `select` under
   * `prefix`): a related row the query asks for, read with the page and hydrated into
   * `property` of each node (null where the join found none). Counts leave it out.
   */
  join?: JoinedRow;
  /**
   * Set for a list reached through a link table (a resource's events) when every condition
   * is on the link table: see `LinkedRows`.
   */
  linked?: LinkedRows;
  /** Set for a list whose nodes' children are read with the page: see `ChildRows`. */
  children?: ChildRows;
  /** The list's own conditions (its filter); the scope's come with `from`. */
  where: Sql[];
  parentColumn: string | null;
  sort: SortColumn[];
  direction: Direction;
}

export interface JoinedRow extends Sql {
  entity: new () => unknown;
  prefix: string;
  property: string;
}

/**
 * How a link list reads its pages keys first: each branch reads only the link table's index
 * (`from`: its sort keys, its parent and the row key `key`), and the rows of every page are
 * joined once, around the UNION, from `rows` on `rowKey`. MariaDB then plans each branch as
 * a one-table range read instead of a two-table join (a resource's events: 40 % less
 * database CPU for a page of 17 resources; bench/FINDINGS.md §9).
 */
export interface LinkedRows {
  from: string;
  key: string;
  rows: string;
  rowKey: string;
}

/**
 * A one-to-many relation read with the page (an order page's items): the page (the UNION of
 * its branches) becomes a derived table `k`, and `text` joins the children to it (`LEFT JOIN
 * … ON ….x = k.x`, with its `params`), their columns in `select` under their own prefixes. A
 * page row then comes back once per child; `fetchPages` folds them into one row whose
 * `_children` are the rows of its children (none where `presence`, a child column as
 * selected, is null), and the Store hydrates them into `property` with `hydrate`. One
 * statement instead of a page and a batched lookup (bench/FINDINGS.md §11).
 */
export interface ChildRows extends Sql {
  select: string;
  presence: string;
  property: string;
  hydrate: (rows: Array<Record<string, unknown>>) => unknown[];
}

export interface RawPage {
  rows: Array<Record<string, unknown>>;
  /** The cursor of the row at `index`, encoded when asked for (most queries never ask). */
  cursorOf: (index: number) => string;
  hasNextPage: boolean;
  hasPreviousPage: boolean;
}

/**
 * Reads one page per parent in a single statement: a `UNION ALL` of one index-ordered,
 * limited SELECT per parent (a window function would read every row of every parent).
 * `parents` is `[null]` for a list without parent.
 */
export async function fetchPages(
  query: QueryFn,
  d: Dialect,
  spec: ListSpec,
  parents: readonly unknown[],
  page: PageRequest,
  encode: (values: unknown[]) => string,
): Promise<Map<string, RawPage>> {
  const readDirection: Direction = page.backward ? flip(spec.direction) : spec.direction;
  const { join, children } = spec;
  // Keys first only when the list has no condition at all: the scope's would apply to rows
  // the branches do not read.
  const linked = spec.from.where.length === 0 && spec.where.length === 0 ? spec.linked : undefined;
  const keys = spec.sort.map((column, index) => `${column.column} AS ${sortKeyAlias(index)}`).join(", ");
  const parentSelect = spec.parentColumn ? `, ${spec.parentColumn} AS _parent` : "";
  const orderBy = spec.sort.map((column) => `${column.column} ${readDirection}`).join(", ");
  // Keys first, rows joined around the UNION; or whole rows (and their joined row) per branch.
  const select = linked ? `${keys}${parentSelect}, ${linked.key} AS _row` : `${spec.select}, ${keys}${parentSelect}`;
  const from = linked ? linked.from : join ? `${spec.from.text} ${join.text}` : spec.from.text;
  const fromParams = !linked && join ? join.params : [];
  const branches = parents.map((parent) => {
    const conditions = [...spec.from.where, ...spec.where];
    if (spec.parentColumn) conditions.push(sql(`${spec.parentColumn} = ?`, parent));
    if (page.after) conditions.push(keysetCondition(d, spec.sort, page.after, spec.direction, true));
    if (page.before) conditions.push(keysetCondition(d, spec.sort, page.before, spec.direction, false));
    const where = and(conditions);
    return {
      text: `SELECT ${select} FROM ${from} WHERE ${where.text} ORDER BY ${orderBy} LIMIT ${page.size + 1}`,
      params: fromParams.length > 0 ? [...fromParams, ...where.params] : where.params,
    };
  });
  const union = d.unionAll(branches);
  const statement = linked
    ? {
        text:
          `SELECT ${spec.select}, k.* FROM (${union.text}) k JOIN ${linked.rows} ON ${linked.rowKey} = k._row` +
          (join ? ` ${join.text}` : ""),
        params: join ? [...union.params, ...join.params] : union.params,
      }
    : children
      ? {
          text: `SELECT k.*, ${children.select} FROM (${union.text}) k ${children.text}`,
          params: [...union.params, ...children.params],
        }
      : union;
  const rows = await query(statement.text, statement.params);

  const grouped = new Map<string, Array<Record<string, unknown>>>();
  for (const parent of parents) grouped.set(parentKey(parent), []);
  for (const row of rows) grouped.get(spec.parentColumn ? parentKey(row._parent) : parentKey(null))?.push(row);

  const result = new Map<string, RawPage>();
  // UNION ALL does not promise to keep each branch's order, nor a join around it any order.
  const ordered = branches.length > 1 || linked !== undefined || children !== undefined;
  for (const [key, unordered] of grouped) {
    const sorted = ordered ? sortRows(d, unordered, spec.sort, readDirection) : unordered;
    const group = children ? foldChildren(d, sorted, spec.sort, children.presence) : sorted;
    const hasMore = group.length > page.size;
    const pageRows = group.slice(0, page.size);
    if (page.backward) pageRows.reverse();
    result.set(key, {
      rows: pageRows,
      cursorOf: (index) => encode(sortValues(d, pageRows[index], spec.sort)),
      hasNextPage: page.backward ? page.before !== null : hasMore,
      // A cursor is a row of the list, so a page read after one has rows before it.
      hasPreviousPage: page.backward ? hasMore : page.after !== null,
    });
  }
  return result;
}

/** Row counts per parent for `totalCount`, cursors ignored, in one grouped statement. */
export async function countRows(
  query: QueryFn,
  spec: ListSpec,
  parents: readonly unknown[],
): Promise<Map<string, number>> {
  const conditions = [...spec.from.where, ...spec.where];
  if (spec.parentColumn) conditions.push(inList(spec.parentColumn, parents));
  const where = and(conditions);
  const counts = new Map<string, number>(parents.map((parent) => [parentKey(parent), 0]));
  const rows = spec.parentColumn
    ? await query(
        `SELECT ${spec.parentColumn} AS _parent, COUNT(*) AS n FROM ${spec.from.text} WHERE ${where.text} GROUP BY ${spec.parentColumn}`,
        where.params,
      )
    : await query(`SELECT COUNT(*) AS n FROM ${spec.from.text} WHERE ${where.text}`, where.params);
  for (const row of rows) counts.set(parentKey(spec.parentColumn ? row._parent : null), Number(row.n));
  return counts;
}

/** Parents are compared as strings: the database may return a number key as a string. */
export function parentKey(value: unknown): string {
  return value === null || value === undefined ? "" : String(value);
}

function flip(direction: Direction): Direction {
  return direction === "ASC" ? "DESC" : "ASC";
}

/**
 * Sorted rows of a page joined to its children, one per child (or one with null children):
 * the rows of each page row, which share its sort keys (they end with a unique column), become
 * one row with `_children`. The sort is stable: children keep the order they were read in.
 */
function foldChildren(
  d: Dialect,
  rows: Array<Record<string, unknown>>,
  sort: readonly SortColumn[],
  presence: string,
): Array<Record<string, unknown>> {
  const folded: Array<Record<string, unknown>> = [];
  let last: unknown[] | null = null;
  let children: Array<Record<string, unknown>> = [];
  for (const row of rows) {
    const values = sortValues(d, row, sort);
    if (last === null || values.some((value, index) => value !== last![index])) {
      children = [];
      row._children = children;
      folded.push(row);
      last = values;
    }
    if (row[presence] !== null && row[presence] !== undefined) children.push(row);
  }
  return folded;
}

/** Rows in sort key order; each row's keys are read once, not at every comparison. */
function sortRows(
  d: Dialect,
  rows: Array<Record<string, unknown>>,
  sort: readonly SortColumn[],
  direction: Direction,
): Array<Record<string, unknown>> {
  if (rows.length < 2) return rows;
  const sign = direction === "ASC" ? 1 : -1;
  const keyed = rows.map((row) => ({ row, values: sortValues(d, row, sort) }));
  keyed.sort((a, b) => {
    for (let i = 0; i < a.values.length; i++) {
      const left = a.values[i] as number | string;
      const right = b.values[i] as number | string;
      if (left !== right) return (left < right ? -1 : 1) * sign;
    }
    return 0;
  });
  return keyed.map((entry) => entry.row);
}
