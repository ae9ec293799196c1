/**
 * The limit for the GraphQL figures: hand-written code that sends exactly the SQL statements
 * TrailGraph sends for each of the four operations (captured with TRAILGRAPH_LOG_SQL=1, same
 * text, same parameters, same order, the UNION ALL of per-resource pages and the columns an
 * event list's selection needs included) and builds
 * exactly the JSON TrailGraph answers, with nothing in between: no parsing or validation of
 * the GraphQL document, no resolvers, no entity hydration, no DataLoader. Times and cursors
 * are written by TrailGraph's own helpers (src/schema/iso-string.ts, `encodeCursor`): the same
 * text the fastest way we have, so the ratio measures the layers in between.
 *
 * `bench/raw-server.ts` serves it over node:http; the harness also runs it in-process to check
 * that both answer the same JSON and to EXPLAIN its statements.
 */
import { coverDays } from "../src/db/daily-counts";
import { encodeCursor } from "../src/db/keyset";
import { isoString } from "../src/schema/iso-string";
import type { OpKey, Variables } from "./operations";

export type Row = Record<string, unknown>;
export type QueryFn = (sql: string, params: unknown[]) => Promise<Row[]>;

/** The `data` of the response to an operation. */
export function runRaw(key: OpKey, variables: Variables, query: QueryFn): Promise<unknown> {
  switch (key) {
    case "a":
      return accountEventsWindow(variables, query);
    case "b":
      return eventById(variables, query);
    case "c":
      return accountOrders(variables, query);
    case "d":
      return accountEventCounts(variables, query);
  }
}

export const OPERATION_KEYS: Readonly<Record<string, OpKey>> = {
  AccountEventsWindow: "a",
  EventById: "b",
  AccountOrders: "c",
  AccountEventCounts: "d",
};

const EVENTS_PAGE = 50;
const ORDERS_PAGE = 20;
const RESOURCE_EVENTS_PAGE = 5;
const COUNTS = 10;
/** The columns of `resources` as TrailGraph selects them beside an order item's. */
const ITEM_RESOURCE_COLUMNS = aliased("r", ["pk", "type", "resource_id", "account_id", "first_seen_at"]);
/** The columns of `order_items` as TrailGraph selects them beside an order page's. */
const ORDER_ITEM_COLUMNS = aliased("oi", ["order_id", "resource_pk", "article_config"]);
/** The columns of `identities` as TrailGraph selects them beside an event's in a list. */
const EVENT_IDENTITY_COLUMNS = aliased("ui", [
  "pk",
  "identity_key",
  "type",
  "account_id",
  "principal_id",
  "user_name",
  "access_key_id",
]);

/** `alias.column AS alias__column, ...`: a joined table's columns as the Store's Hydrator.columns() names them. */
function aliased(alias: string, columns: string[]): string {
  return columns.map((column) => `${alias}.${column} AS ${alias}__${column}`).join(", ");
}

async function accountEventsWindow(v: Variables, query: QueryFn) {
  // The page with each event's identity, in one statement.
  const rows = await query(
    `SELECT e.pk, e.event_id, e.event_time, e.event_name, e.event_type, e.account_id, e.identity_pk, ${EVENT_IDENTITY_COLUMNS}, e.event_time AS _k0, e.pk AS _k1 FROM events e LEFT JOIN identities ui ON (ui.pk = e.identity_pk) WHERE (e.account_id IN (?)) AND (e.event_time >= ?) AND (e.event_time < ?) ORDER BY e.event_time DESC, e.pk DESC LIMIT ${EVENTS_PAGE + 1}`,
    [v.a, date(v.from), date(v.to)],
  );
  const edges = rows.slice(0, EVENTS_PAGE).map((row) => ({
    cursor: encodeCursor("evD", [time(row._k0).getTime(), Number(row._k1)]),
    node: {
      eventId: row.event_id,
      eventName: row.event_name,
      eventTime: isoString(time(row.event_time)),
      eventType: row.event_type,
      userIdentity: row.identity_pk == null || row.ui__pk == null ? null : { userName: row.ui__user_name },
    },
  }));
  return {
    events: {
      edges,
      pageInfo: { hasNextPage: rows.length > EVENTS_PAGE, endCursor: edges.at(-1)?.cursor ?? null },
    },
  };
}

async function eventById(v: Variables, query: QueryFn) {
  const [row] = await query("SELECT e.* FROM events e WHERE (e.event_id IN (?))", [v.id]);
  if (!row) return { event: null };
  const identity =
    row.identity_pk == null ? undefined : (await identitiesOf([row], query)).get(Number(row.identity_pk));
  return {
    event: {
      eventId: row.event_id,
      eventName: row.event_name,
      eventTime: isoString(time(row.event_time)),
      eventType: row.event_type,
      serviceName: row.service_name,
      errorCode: row.error_code,
      userIdentity: identity ? { type: identity.type, userName: identity.user_name } : null,
    },
  };
}

async function accountOrders(v: Variables, query: QueryFn) {
  if (!(await accountExists(v.a, query))) return { account: null };
  // The page with each order's items and their resources, in one statement: one row per item.
  const rows = await query(
    `SELECT k.*, ${ORDER_ITEM_COLUMNS}, ${ITEM_RESOURCE_COLUMNS} FROM (SELECT o.*, o.created_at AS _k0, o.order_id AS _k1, o.account_id AS _parent FROM orders o WHERE (o.account_id = ?) ORDER BY o.created_at DESC, o.order_id DESC LIMIT ${ORDERS_PAGE + 1}) k LEFT JOIN order_items oi ON (oi.order_id = k.order_id) LEFT JOIN resources r ON (r.pk = oi.resource_pk)`,
    [v.a],
  );
  // The join promises no order: newest first again (a stable sort keeps each order's items
  // in the order they came), then one order per run of rows.
  rows.sort((x, y) => time(y._k0).getTime() - time(x._k0).getTime() || compareKeys(String(y._k1), String(x._k1)));
  const itemsOf = new Map<string, Row[]>();
  const orders: Row[] = [];
  const resources = new Map<number, Row>();
  for (const row of rows) {
    const orderId = String(row.order_id);
    if (!itemsOf.has(orderId)) {
      if (orders.length === ORDERS_PAGE) break;
      itemsOf.set(orderId, []);
      orders.push(row);
    }
    if (row.oi__order_id == null) continue;
    itemsOf.get(orderId)!.push(row);
    if (row.r__pk != null) {
      resources.set(Number(row.r__pk), { pk: row.r__pk, type: row.r__type, resource_id: row.r__resource_id });
    }
  }
  // Resources in the order TrailGraph's resolvers ask for them: order by order, item by item.
  const parents = unique(
    orders.flatMap((order) => itemsOf.get(String(order.order_id))!.map((item) => Number(item.oi__resource_pk))),
  ).filter((pk) => resources.has(pk));
  const events = await resourceEventPages(parents, query);

  return {
    account: {
      orders: {
        nodes: orders.map((order) => ({
          orderId: order.order_id,
          createdAt: isoString(time(order.created_at)),
          items: itemsOf.get(String(order.order_id))!.map((item) => {
            const resource = resources.get(Number(item.oi__resource_pk));
            return {
              articleConfig: json(item.oi__article_config),
              resource: resource
                ? {
                    type: resource.type,
                    resourceId: resource.resource_id,
                    events: {
                      nodes: (events.get(Number(resource.pk)) ?? []).map((row) => ({
                        eventId: row.event_id,
                        eventName: row.event_name,
                        eventTime: isoString(time(row.event_time)),
                      })),
                    },
                  }
                : null,
            };
          }),
        })),
      },
    },
  };
}

/**
 * The first events of each resource, newest first: one UNION ALL of one LIMITed branch per
 * resource that reads the link index only, joined once to the events.
 */
async function resourceEventPages(parents: number[], query: QueryFn): Promise<Map<number, Row[]>> {
  const pages = new Map<number, Row[]>(parents.map((pk) => [pk, []]));
  if (parents.length === 0) return pages;
  const branch = `SELECT er.event_time AS _k0, er.event_pk AS _k1, er.resource_pk AS _parent, er.event_pk AS _row FROM event_resources er WHERE (er.resource_pk = ?) ORDER BY er.event_time DESC, er.event_pk DESC LIMIT ${RESOURCE_EVENTS_PAGE + 1}`;
  const union = parents.length === 1 ? branch : parents.map(() => `(${branch})`).join(" UNION ALL ");
  const text = `SELECT e.pk, e.event_id, e.event_time, e.event_name, e.account_id, e.identity_pk, k.* FROM (${union}) k JOIN events e ON e.pk = k._row`;
  for (const row of await query(text, parents)) pages.get(Number(row._parent))?.push(row);
  for (const [pk, rows] of pages) {
    // Neither UNION ALL nor the join around it promises an order.
    rows.sort((x, y) => time(y._k0).getTime() - time(x._k0).getTime() || Number(y._k1) - Number(x._k1));
    pages.set(pk, rows.slice(0, RESOURCE_EVENTS_PAGE));
  }
  return pages;
}

/**
 * The benchmark's windows are whole UTC days (bench/operations.ts), which TrailGraph reads from
 * the rollups alone: the days and periods that cover the window (`coverDays`, the same split
 * TrailGraph makes), one GROUP BY on each rollup table that has a part of it, summed. A partial
 * first or last day would add a branch counted from events, which this mirror does not send
 * (it refuses such a window).
 */
async function accountEventCounts(v: Variables, query: QueryFn) {
  if (!(await accountExists(v.a, query))) return { account: null };
  const cover = coverDays(utcDay(v.from90), utcDay(v.to));
  const member = (
    table: string,
    column: string,
    ranges: Array<{ span?: number; from: string | null; to: string | null }>,
    n: string,
  ) => {
    const params: unknown[] = ["EVENT_NAME"];
    const alternatives = ranges.map((range) => {
      const bounds: string[] = [];
      if (range.span !== undefined) bounds.push("(d.span = ?)");
      if (range.from !== null) bounds.push(`(${column} >= ?)`);
      if (range.to !== null) bounds.push(`(${column} < ?)`);
      params.push(...[range.span, range.from, range.to].filter((value) => value != null));
      return `(${bounds.join(" AND ")})`;
    });
    params.push(v.a);
    return {
      text: `SELECT d.account_id AS _parent, d.value AS k, SUM(d.n) AS ${n} FROM ${table} d WHERE (d.field = ?) AND (${alternatives.join(" OR ")}) AND (d.account_id = ?) GROUP BY d.account_id, d.value`,
      params,
    };
  };
  const members = (n: string) => [
    ...(cover.days.length ? [member("event_daily_counts", "d.day", cover.days, n)] : []),
    ...(cover.periods.length ? [member("event_period_counts", "d.start_day", cover.periods, n)] : []),
  ];
  // Both tables: their groups summed by value; one table: its groups as they are.
  const union = cover.days.length > 0 && cover.periods.length > 0;
  const parts = members(union ? "c" : "n");
  const rows = union
    ? await query(
        `SELECT u._parent AS _parent, u.k, SUM(u.c) AS n FROM (${parts
          .map((m) => m.text)
          .join(" UNION ALL ")}) u GROUP BY u._parent, u.k ORDER BY n DESC, u.k LIMIT ${COUNTS}`,
        parts.flatMap((m) => m.params),
      )
    : await query(`${parts[0].text} ORDER BY n DESC, k LIMIT ${COUNTS}`, parts[0].params);
  // The rollup's '' stands for null.
  const counts = rows.map((row) => ({
    key: row.k === null || row.k === "" ? null : String(row.k),
    count: Number(row.n),
  }));
  counts.sort((x, y) => y.count - x.count || compareKeys(x.key, y.key));
  return { account: { eventCounts: counts } };
}

/** `YYYY-MM-DD` of a time that is a UTC midnight. */
function utcDay(value: string): string {
  const time = date(value);
  if (time.getTime() % 86_400_000 !== 0) throw new Error(`${value} is not a UTC midnight: the mirror reads whole days`);
  return time.toISOString().slice(0, 10);
}

async function accountExists(accountId: string, query: QueryFn): Promise<boolean> {
  return (await query("SELECT a.* FROM accounts a WHERE (a.account_id IN (?))", [accountId])).length > 0;
}

/** The identities of some event rows by pk, in one statement (none when no row has one). */
async function identitiesOf(rows: Row[], query: QueryFn): Promise<Map<number, Row>> {
  const pks = unique(rows.filter((row) => row.identity_pk != null).map((row) => Number(row.identity_pk)));
  const found = new Map<number, Row>();
  if (pks.length === 0) return found;
  for (const row of await query(`SELECT i.* FROM identities i WHERE (i.pk IN (${marks(pks.length)}))`, pks)) {
    found.set(Number(row.pk), row);
  }
  return found;
}

function date(value: string): Date {
  const parsed = new Date(value);
  if (!Number.isFinite(parsed.getTime())) throw new Error(`not a date: ${value}`);
  return parsed;
}

function time(value: unknown): Date {
  return value instanceof Date ? value : new Date(`${String(value).replace(" ", "T")}Z`);
}

function json(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  return typeof value === "string" ? JSON.parse(value) : value;
}

function marks(count: number): string {
  return Array(count).fill("?").join(", ");
}

function unique<T>(values: T[]): T[] {
  return [...new Set(values)];
}

function compareKeys(a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  return a < b ? -1 : 1;
}
