import { GraphQLError } from "graphql";
import type { DataSource } from "typeorm";
import { Account, Event, EventPayload, Order, OrderItem, ReferencedResource, UserIdentity } from "../entities";
import {
  coverDays,
  DAILY_COUNTS_TABLE,
  type DayRange,
  isDailyCountField,
  NO_VALUE,
  PERIOD_COUNTS_TABLE,
  splitWindow,
} from "./daily-counts";
import { dialectOf, type Dialect } from "./dialect";
import { Hydrator } from "./hydrate";
import { encodeCursor, type Direction, type PageRequest, type SortColumn } from "./keyset";
import {
  countRows,
  fetchPages,
  parentKey,
  type JoinedRow,
  type ChildRows,
  type LinkedRows,
  type ListSpec,
  type QueryFn,
  type RawPage,
} from "./lists";
import { databaseFault } from "./faults";
import { readerOf } from "./reader";
import { innerJoin, type ScopedTable, type TableName, type TenantScope } from "./scope";
import { and, inList, or, sql, type Sql } from "./sql";

/** Event filter values: fields combine with AND, values within a list with OR. */
export interface EventFilterValues {
  eventIds?: string[] | null;
  eventNames?: string[] | null;
  eventTypes?: string[] | null;
  eventRW?: string[] | null;
  serviceNames?: string[] | null;
  eventSources?: string[] | null;
  regions?: string[] | null;
  accountIds?: string[] | null;
  principalIds?: string[] | null;
  userNames?: string[] | null;
  identityTypes?: string[] | null;
  accessKeyIds?: string[] | null;
  sourceIpAddresses?: string[] | null;
  resourceTypes?: string[] | null;
  resourceIds?: string[] | null;
  orderIds?: string[] | null;
  errorCodes?: string[] | null;
  failed?: boolean | null;
  from?: Date | null;
  to?: Date | null;
}

export interface OrderFilterValues {
  orderIds?: string[] | null;
  accountIds?: string[] | null;
  from?: Date | null;
  to?: Date | null;
}

export interface ResourceFilterValues {
  types?: string[] | null;
  resourceIds?: string[] | null;
  accountIds?: string[] | null;
}

/** Event columns that `eventCounts` can group by. */
export const EVENT_GROUP_COLUMNS = {
  EVENT_NAME: "e.event_name",
  EVENT_TYPE: "e.event_type",
  EVENT_RW: "e.event_rw",
  SERVICE_NAME: "e.service_name",
  EVENT_SOURCE: "e.event_source",
  REGION: "e.acs_region",
  ACCOUNT_ID: "e.account_id",
  SOURCE_IP_ADDRESS: "e.source_ip_address",
  ERROR_CODE: "e.error_code",
} as const;

export type EventGroupField = keyof typeof EVENT_GROUP_COLUMNS;

/** Filter fields the daily rollup can serve (with the tenant scope): the window and accounts. */
const ROLLUP_FILTER_FIELDS = new Set(["from", "to", "accountIds"]);

/** Rows of a table (within the scope, by `from`) that meet `where`. */
interface Scan {
  from: ScopedTable;
  where: Sql[];
}

/**
 * Whole days from the rollups (`event_daily_counts d`, `event_period_counts d`; null when
 * that table has no part of the window) and partial days from `events e`.
 */
interface RollupPlan {
  days: Scan | null;
  periods: Scan | null;
  partial: Scan[];
}

/** How `eventCounts` reads one field of a list of events: see Store.eventCounts. */
export interface CountsSpec {
  /** The list's events (filter and scope), grouped by `column` when there is no rollup plan. */
  list: ListSpec;
  column: string;
  rollup: RollupPlan | null;
}

/** What a per-parent event list hangs from. */
export type EventAnchor = "none" | "account" | "identity" | "resource" | "order";
export type OrderAnchor = "none" | "account";
export type ResourceAnchor = "none" | "account";

export interface Page<T> extends Omit<RawPage, "rows"> {
  nodes: T[];
}

/** Column prefix of the items read with an order page. */
const ORDER_ITEM = "oi__";
/** Column prefix of the resource read with each order item. */
const ITEM_RESOURCE = "r__";
/** Column prefix of the identity read with each event of a list. */
const EVENT_IDENTITY = "ui__";

/** What an event list reads besides its keys. */
export interface EventListShape {
  /** The Event properties the query needs (rows carry only those columns); null reads whole rows. */
  properties?: ReadonlySet<string> | null;
  /** Read each event's identity with the page, into `Event.identity`. */
  identity?: boolean;
}

/**
 * Events reached through a link table, read keys first (`LinkedRows`): only when the list has
 * no condition on events (no filter, unrestricted scope), or a branch's LIMIT would count
 * events the condition then drops.
 */
const linkedEvents = (link: ScopedTable, key: string, events: ScopedTable): LinkedRows => ({
  from: link.text,
  key,
  rows: events.text,
  rowKey: "e.pk",
});

const EVENT_SORT = (time: string, pk: string): SortColumn[] => [
  { column: time, kind: "time" },
  { column: pk, kind: "int" },
];

/**
 * What stops a request's statements: its deadline, its client's leaving, and its row limit
 * (src/server/deadline.ts).
 */
export interface StatementGuard {
  /** Whether the request's work is stopped (its deadline passed: it is stopped now). */
  stopped(): boolean;
  /** Why it was stopped: the error to throw. */
  readonly reason: Error | null;
  /** Adds the rows a statement read; throws (and aborts) once the request has read too many. */
  countRows(rows: number): void;
  /**
   * Adds the items a list answers (src/resolvers/lists.ts); throws once the request answers too
   * many, or is stopped. Rows a request's DataLoaders read once can be answered again and again
   * (a nested list repeating its parent's page) without a statement: this counts what is answered.
   */
  countNodes(nodes: number): void;
}

/**
 * The read side's only door to the database. It holds the request's tenant scope and adds
 * it to every statement; DataLoaders in the request context call it in batches.
 */
export class Store {
  readonly dialect: Dialect;
  private readonly hydrator: Hydrator;
  private readonly query: QueryFn;
  /** Event list specs of this request by anchor, filter and direction: one object per list, not per parent. */
  private readonly eventLists = new Map<string, ListSpec>();
  /** The columns each shape of this request reads (one shape object serves a list's parents). */
  private readonly shapes = new WeakMap<EventListShape, { columns: string[] | null; identity: boolean; key: string }>();
  /** eventCounts specs of this request by anchor, field and filter, likewise. */
  private readonly countSpecs = new Map<string, CountsSpec>();
  /** SQL statements this request has sent (the request log reports them). */
  statements = 0;

  constructor(
    dataSource: DataSource,
    readonly scope: TenantScope,
    guard: StatementGuard | null = null,
  ) {
    this.dialect = dialectOf(dataSource);
    this.hydrator = Hydrator.of(dataSource, this.dialect);
    const read = readerOf(dataSource);
    this.query = guard
      ? async (text, params) => {
          // A request that met a database fault fails its other statements at once rather than
          // waiting out the same timeout again (src/server/executor.ts runs an operation whose
          // compiled run had errors a second time).
          if (this.fault) throw this.fault;
          // A request past its deadline, whose client is gone or that read too many rows sends nothing more.
          if (guard.stopped()) throw guard.reason;
          this.statements++;
          const rows = await read(text, params).catch(this.remember);
          guard.countRows(rows.length);
          return rows;
        }
      : (text, params) => {
          if (this.fault) return Promise.reject(this.fault);
          this.statements++;
          return read(text, params).catch(this.remember);
        };
  }

  /** The request's first database fault (DATABASE_UNAVAILABLE, STATEMENT_TIMEOUT). */
  private fault: GraphQLError | null = null;
  private readonly remember = (error: unknown): never => {
    if (error instanceof GraphQLError && databaseFault(error)) this.fault ??= error;
    throw error;
  };

  private async select<T>(entity: new () => T, text: string, conditions: Sql[]): Promise<T[]> {
    const where = and(conditions);
    return this.hydrator.hydrateAll(entity, await this.query(`${text} WHERE ${where.text}`, where.params));
  }

  /** Rows of `table` whose `column` is one of `keys`, within the scope. */
  private lookup<T>(entity: new () => T, table: TableName, alias: string, column: string, keys: readonly unknown[]) {
    const from = this.scope.table(table, alias);
    return this.select(entity, `SELECT ${alias}.* FROM ${from.text}`, [inList(column, keys), ...from.where]);
  }

  // ---- lookups by key (DataLoader batch functions) ----

  eventsByPks(pks: readonly number[]): Promise<Event[]> {
    return this.lookup(Event, "events", "e", "e.pk", pks);
  }

  eventsByEventIds(eventIds: readonly string[]): Promise<Event[]> {
    return this.lookup(Event, "events", "e", "e.event_id", eventIds);
  }

  /** Payloads of events already read (and so already scope-checked). */
  payloadsByEventPks(pks: readonly number[]): Promise<EventPayload[]> {
    return this.lookup(EventPayload, "event_payloads", "p", "p.event_pk", pks);
  }

  identitiesByPks(pks: readonly number[]): Promise<UserIdentity[]> {
    return this.lookup(UserIdentity, "identities", "i", "i.pk", pks);
  }

  identitiesByKeys(keys: readonly string[]): Promise<UserIdentity[]> {
    return this.lookup(UserIdentity, "identities", "i", "i.identity_key", keys);
  }

  accountsByIds(accountIds: readonly string[]): Promise<Account[]> {
    return this.lookup(Account, "accounts", "a", "a.account_id", accountIds);
  }

  ordersByIds(orderIds: readonly string[]): Promise<Order[]> {
    return this.lookup(Order, "orders", "o", "o.order_id", orderIds);
  }

  resourcesByPks(pks: readonly number[]): Promise<ReferencedResource[]> {
    return this.lookup(ReferencedResource, "resources", "r", "r.pk", pks);
  }

  /** Resources by (type, resourceId); reads by ID (the unique index's prefix), then matches types. */
  async resourcesByKeys(keys: ReadonlyArray<{ type: string; resourceId: string }>): Promise<ReferencedResource[]> {
    const wanted = new Set(keys.map((key) => `${key.type}\u0000${key.resourceId}`));
    const ids = [...new Set(keys.map((key) => key.resourceId))];
    const rows = await this.lookup(ReferencedResource, "resources", "r", "r.resource_id", ids);
    return rows.filter((row) => wanted.has(`${row.type}\u0000${row.resourceId}`));
  }

  /** Resources each event references, as (eventPk, resource) pairs. */
  resourcesOfEvents(eventPks: readonly number[]): Promise<Array<[number, ReferencedResource]>> {
    const from = innerJoin(
      this.scope.table("event_resources", "er"),
      this.scope.table("resources", "r"),
      "r.pk = er.resource_pk",
    );
    return this.pairs(ReferencedResource, "er.event_pk AS _parent, r.*", from, inList("er.event_pk", eventPks), "r.pk");
  }

  /** Orders each event names, as (eventPk, order) pairs. */
  ordersOfEvents(eventPks: readonly number[]): Promise<Array<[number, Order]>> {
    const from = innerJoin(
      this.scope.table("event_orders", "eo"),
      this.scope.table("orders", "o"),
      "o.order_id = eo.order_id",
    );
    return this.pairs(Order, "eo.event_pk AS _parent, o.*", from, inList("eo.event_pk", eventPks), "o.order_id");
  }

  /** Orders that bought each resource, as (resourcePk, order) pairs, oldest first. */
  ordersOfResources(resourcePks: readonly number[]): Promise<Array<[number, Order]>> {
    const from = innerJoin(
      this.scope.table("order_items", "oi"),
      this.scope.table("orders", "o"),
      "o.order_id = oi.order_id",
    );
    return this.pairs(
      Order,
      "oi.resource_pk AS _parent, o.*",
      from,
      inList("oi.resource_pk", resourcePks),
      "o.created_at, o.order_id",
    );
  }

  /** A one-to-many read: rows selected with their parent key as `_parent`. */
  private async pairs<T>(
    entity: new () => T,
    select: string,
    from: ScopedTable,
    condition: Sql,
    orderBy: string,
  ): Promise<Array<[number, T]>> {
    const where = and([condition, ...from.where]);
    const rows = await this.query(
      `SELECT ${select} FROM ${from.text} WHERE ${where.text} ORDER BY ${orderBy}`,
      where.params,
    );
    const entities = this.hydrator.hydrateAll(entity, rows);
    return rows.map((row, index) => [Number(row._parent), entities[index]]);
  }

  /**
   * Items of orders already read (and so already scope-checked), each with its resource (null
   * when out of scope) read by the same statement: a client that lists items nearly always
   * asks for what they bought, and a statement is the costliest part of a short read.
   */
  async itemsOfOrders(orderIds: readonly string[]): Promise<OrderItem[]> {
    const items = this.scope.table("order_items", "oi");
    const where = and([inList("oi.order_id", orderIds), ...items.where]);
    const resources = this.itemResources();
    const rows = await this.query(
      `SELECT oi.*, ${resources.select} FROM ${items.text} ${resources.text} WHERE ${where.text}`,
      [...resources.params, ...where.params],
    );
    return this.items(rows, "");
  }

  /**
   * `LEFT JOIN resources r …` for order items `oi`, with the resource's own
   * scope check (as resourcesByPks applies it), and the resource's columns.
   */
  private itemResources(): Sql & { select: string } {
    return {
      select: this.hydrator.columns(ReferencedResource, "r", ITEM_RESOURCE),
      ...this.scope.leftJoin("resources", "r", "r.pk = oi.resource_pk"),
    };
  }

  /** Order items from rows that carry them (under `prefix`) and their resources (`ITEM_RESOURCE`). */
  private items(rows: Array<Record<string, unknown>>, prefix: string): OrderItem[] {
    const items = this.hydrator.hydrateAll(OrderItem, rows, prefix);
    const resources = this.hydrator.hydrateJoined(ReferencedResource, rows, ITEM_RESOURCE);
    items.forEach((item, index) => (item.resource = resources[index]));
    return items;
  }

  // ---- keyset-paged lists ----

  /**
   * A list of events, read as `shape` says: only the columns of `properties` (null, or a name
   * that is not a column, reads whole rows), and each event's identity with it if asked.
   */
  eventList(
    anchor: EventAnchor,
    filter: EventFilterValues | null | undefined,
    direction: Direction,
    shape: EventListShape = {},
  ): ListSpec {
    let read = this.shapes.get(shape);
    if (!read) {
      const columns = shape.properties ? this.hydrator.columnsOfProperties(Event, shape.properties) : null;
      const identity = shape.identity === true;
      read = { columns, identity, key: `${columns?.join(",") ?? "*"} ${identity}` };
      this.shapes.set(shape, read);
    }
    const key = `${anchor} ${direction} ${filter == null ? "null" : JSON.stringify(filter)} ${read.key}`;
    let spec = this.eventLists.get(key);
    if (!spec) {
      spec = { ...this.buildEventList(anchor, filter, direction, read.columns, read.identity), key: `events ${key}` };
      this.eventLists.set(key, spec);
    }
    return spec;
  }

  private buildEventList(
    anchor: EventAnchor,
    filter: EventFilterValues | null | undefined,
    direction: Direction,
    columns: string[] | null,
    identity: boolean,
  ): ListSpec {
    let select = columns ? columns.map((column) => `e.${column}`).join(", ") : "e.*";
    let join: JoinedRow | undefined;
    if (identity) {
      // The identity's own scope check, as identitiesByPks applies it.
      select += `, ${this.hydrator.columns(UserIdentity, "ui", EVENT_IDENTITY)}`;
      join = {
        ...this.scope.leftJoin("identities", "ui", "ui.pk = e.identity_pk"),
        entity: UserIdentity,
        prefix: EVENT_IDENTITY,
        property: "identity",
      };
    }
    const base = { tag: `ev${direction[0]}`, select, join, partial: columns !== null, direction };
    const where = this.eventFilter(filter ?? {});
    const events = this.scope.table("events", "e");
    switch (anchor) {
      case "resource": {
        const link = this.scope.table("event_resources", "er");
        return {
          ...base,
          from: innerJoin(link, events, "e.pk = er.event_pk"),
          linked: linkedEvents(link, "er.event_pk", events),
          where,
          parentColumn: "er.resource_pk",
          sort: EVENT_SORT("er.event_time", "er.event_pk"),
        };
      }
      case "order": {
        const link = this.scope.table("event_orders", "eo");
        return {
          ...base,
          from: innerJoin(link, events, "e.pk = eo.event_pk"),
          linked: linkedEvents(link, "eo.event_pk", events),
          where,
          parentColumn: "eo.order_id",
          sort: EVENT_SORT("eo.event_time", "eo.event_pk"),
        };
      }
      default:
        return {
          ...base,
          from: events,
          where,
          parentColumn: anchor === "account" ? "e.account_id" : anchor === "identity" ? "e.identity_pk" : null,
          sort: EVENT_SORT("e.event_time", "e.pk"),
        };
    }
  }

  /** Orders; with `items`, each order's items (and their resources) are read with the page. */
  orderList(anchor: OrderAnchor, filter: OrderFilterValues | null | undefined, { items = false } = {}): ListSpec {
    const f = filter ?? {};
    const where: Sql[] = [];
    if (f.orderIds?.length) where.push(inList("o.order_id", f.orderIds));
    if (f.accountIds?.length) where.push(inList("o.account_id", f.accountIds));
    if (f.from) where.push(sql("o.created_at >= ?", this.dialect.time(f.from)));
    if (f.to) where.push(sql("o.created_at < ?", this.dialect.time(f.to)));
    return {
      tag: "or",
      select: "o.*",
      from: this.scope.table("orders", "o"),
      children: items ? this.orderItems() : undefined,
      where,
      parentColumn: anchor === "account" ? "o.account_id" : null,
      sort: [
        { column: "o.created_at", kind: "time" },
        { column: "o.order_id", kind: "string" },
      ],
      direction: "DESC",
    };
  }

  /** An order page's items with their resources, read with the page (`ChildRows`). */
  private orderItems(): ChildRows {
    const items = this.scope.leftJoin("order_items", "oi", "oi.order_id = k.order_id");
    const resources = this.itemResources();
    return {
      select: `${this.hydrator.columns(OrderItem, "oi", ORDER_ITEM)}, ${resources.select}`,
      text: `${items.text} ${resources.text}`,
      params: [...items.params, ...resources.params],
      presence: `${ORDER_ITEM}order_id`,
      property: "items",
      hydrate: (rows) => this.items(rows, ORDER_ITEM),
    };
  }

  resourceList(anchor: ResourceAnchor, filter: ResourceFilterValues | null | undefined): ListSpec {
    const f = filter ?? {};
    const where: Sql[] = [];
    if (f.types?.length) where.push(inList("r.type", f.types));
    if (f.resourceIds?.length) where.push(inList("r.resource_id", f.resourceIds));
    if (f.accountIds?.length) where.push(inList("r.account_id", f.accountIds));
    return {
      tag: "rs",
      select: "r.*",
      from: this.scope.table("resources", "r"),
      where,
      parentColumn: anchor === "account" ? "r.account_id" : null,
      sort: [{ column: "r.pk", kind: "int" }],
      direction: "ASC",
    };
  }

  identityList(): ListSpec {
    return {
      tag: "id",
      select: "i.*",
      from: this.scope.table("identities", "i"),
      where: [],
      parentColumn: "i.account_id",
      sort: [{ column: "i.pk", kind: "int" }],
      direction: "ASC",
    };
  }

  /** Rejected records, newest first. They belong to no account: a restricted scope sees none. */
  rejectList(): ListSpec {
    return {
      tag: "rj",
      select: "j.*",
      from: this.scope.table("ingest_rejects", "j"),
      where: [],
      parentColumn: null,
      sort: [
        { column: "j.rejected_at", kind: "time" },
        { column: "j.pk", kind: "int" },
      ],
      direction: "DESC",
    };
  }

  accountList(): ListSpec {
    return {
      tag: "ac",
      select: "a.*",
      from: this.scope.table("accounts", "a"),
      where: [],
      parentColumn: null,
      sort: [{ column: "a.account_id", kind: "string" }],
      direction: "ASC",
    };
  }

  async pages<T>(
    entity: new () => T,
    spec: ListSpec,
    parents: readonly unknown[],
    page: PageRequest,
  ): Promise<Map<string, Page<T>>> {
    const raw = await fetchPages(this.query, this.dialect, spec, parents, page, (values) =>
      encodeCursor(spec.tag, values),
    );
    // One statement, one row shape: every page's rows are hydrated at once, then handed out.
    const rows = [...raw.values()].flatMap((page) => page.rows);
    const nodes = this.hydrator.hydrateAll(entity, rows);
    const { join, children } = spec;
    if (join) {
      const joined = this.hydrator.hydrateJoined(join.entity, rows, join.prefix);
      nodes.forEach((node, index) => ((node as Record<string, unknown>)[join.property] = joined[index]));
    }
    if (children) {
      const childRows = rows.map((row) => row._children as Array<Record<string, unknown>>);
      const all = children.hydrate(childRows.flat());
      let next = 0;
      nodes.forEach((node, index) => {
        (node as Record<string, unknown>)[children.property] = all.slice(next, (next += childRows[index].length));
      });
    }
    const pages = new Map<string, Page<T>>();
    let next = 0;
    for (const [key, { rows: pageRows, ...info }] of raw) {
      pages.set(key, { ...info, nodes: nodes.slice(next, (next += pageRows.length)) });
    }
    return pages;
  }

  counts(spec: ListSpec, parents: readonly unknown[]): Promise<Map<string, number>> {
    return countRows(this.query, spec, parents);
  }

  /**
   * What `eventCounts(by, filter)` reads for a list of events (one object per request and
   * arguments, so that it batches across parents). When the filter is only a time window
   * (plus account IDs; the tenant scope always applies) on the root or an account, whole UTC
   * days come from the daily rollup and the partial first and last day from events; any
   * other filter, a window without one whole day, or a bound outside the years events can
   * have, is a GROUP BY over the list's events.
   */
  eventCounts(anchor: EventAnchor, filter: EventFilterValues | null | undefined, by: EventGroupField): CountsSpec {
    const key = `${anchor} ${by} ${JSON.stringify(filter ?? null)}`;
    let spec = this.countSpecs.get(key);
    if (!spec) {
      spec = {
        list: this.eventList(anchor, filter, "DESC"),
        column: EVENT_GROUP_COLUMNS[by],
        rollup: this.rollupPlan(anchor, filter ?? {}, by),
      };
      this.countSpecs.set(key, spec);
    }
    return spec;
  }

  private rollupPlan(anchor: EventAnchor, f: EventFilterValues, by: EventGroupField): RollupPlan | null {
    if ((anchor !== "none" && anchor !== "account") || !isDailyCountField(by)) return null;
    const windowOnly = Object.entries(f).every(
      ([name, value]) =>
        ROLLUP_FILTER_FIELDS.has(name) ||
        value === null ||
        value === undefined ||
        (Array.isArray(value) && !value.length),
    );
    const split = windowOnly ? splitWindow(f.from, f.to) : null;
    if (!split?.days) return null;
    // `''` is the rollup's "no account": no list of accounts names it.
    const accountIds = f.accountIds?.length ? f.accountIds : null;
    const owners: Sql[] = [];
    if (accountIds) owners.push(inList("d.account_id", accountIds));
    if (accountIds?.includes(NO_VALUE) || (!this.scope.unrestricted && this.scope.allows(NO_VALUE))) {
      owners.push(sql("d.account_id <> ?", NO_VALUE));
    }
    /** `(range) OR (range) ...` on a rollup's day column, with the field and the owners. */
    const within = <R extends DayRange>(
      table: typeof DAILY_COUNTS_TABLE | typeof PERIOD_COUNTS_TABLE,
      ranges: R[],
      column: string,
      extra: (range: R) => Sql[],
    ): Scan | null => {
      if (ranges.length === 0) return null;
      const alternatives = ranges.map((range) => {
        const bounds = extra(range);
        if (range.from !== null) bounds.push(sql(`${column} >= ?`, range.from));
        if (range.to !== null) bounds.push(sql(`${column} < ?`, range.to));
        return and(bounds);
      });
      return { from: this.scope.table(table, "d"), where: [sql("d.field = ?", by), or(alternatives), ...owners] };
    };
    const cover = coverDays(split.days.from, split.days.to);
    const partial = split.partial.map((part) => ({
      from: this.scope.table("events", "e"),
      where: this.eventFilter({ accountIds, from: part.from, to: part.to }),
    }));
    return {
      days: within(DAILY_COUNTS_TABLE, cover.days, "d.day", () => []),
      periods: within(PERIOD_COUNTS_TABLE, cover.periods, "d.start_day", (range) => [sql("d.span = ?", range.span)]),
      partial,
    };
  }

  /**
   * The most frequent values of one event column among the events of a list, per parent,
   * most frequent first: one GROUP BY per parent, all in one UNION ALL statement. With a
   * rollup plan, a parent's GROUP BY sums the rollup's whole days and adds the partial days
   * counted from events (null values meet as `''`).
   */
  async topValues(
    spec: CountsSpec,
    parents: readonly unknown[],
    limit: number,
  ): Promise<Map<string, Array<{ key: string | null; count: number }>>> {
    const { list, column, rollup } = spec;
    const parentColumn = list.parentColumn;
    /** One parent's `SELECT [_parent,] k, <count> FROM <scan> WHERE ... GROUP BY [parent,] <by>`. */
    const grouped = (scan: Scan, parentOf: string | null, by: string, key: string, count: string, parent: unknown) => {
      const conditions = [...scan.from.where, ...scan.where];
      if (parentOf) conditions.push(sql(`${parentOf} = ?`, parent));
      const where = and(conditions);
      return {
        text:
          `SELECT ${parentOf ? `${parentOf} AS _parent, ` : ""}${key} AS k, ${count} FROM ${scan.from.text} WHERE ${where.text} ` +
          `GROUP BY ${parentOf ? `${parentOf}, ${by}` : by}`,
        params: where.params,
      };
    };
    const branches = parents.map((parent) => {
      if (!rollup) {
        const scan = grouped(list, parentColumn, column, column, "COUNT(*) AS n", parent);
        return { text: `${scan.text} ORDER BY n DESC, k LIMIT ${limit}`, params: scan.params };
      }
      // The rollups' whole days and periods, then the partial days from events; null values meet as ''.
      const rollupMember = (scan: Scan | null, alias: string) =>
        scan
          ? [grouped(scan, parentColumn ? "d.account_id" : null, "d.value", "d.value", `SUM(d.n) AS ${alias}`, parent)]
          : [];
      const members = (alias: string) => [
        ...rollupMember(rollup.days, alias),
        ...rollupMember(rollup.periods, alias),
        ...rollup.partial.map((part) =>
          grouped(part, parentColumn, column, `COALESCE(${column}, '${NO_VALUE}')`, `COUNT(*) AS ${alias}`, parent),
        ),
      ];
      const only = members("n");
      if (only.length === 1) {
        return { text: `${only[0].text} ORDER BY n DESC, k LIMIT ${limit}`, params: only[0].params };
      }
      const parts = members("c");
      return {
        text:
          `SELECT ${parentColumn ? "u._parent AS _parent, " : ""}u.k, SUM(u.c) AS n ` +
          `FROM (${parts.map((part) => part.text).join(" UNION ALL ")}) u ` +
          `GROUP BY ${parentColumn ? "u._parent, u.k" : "u.k"} ORDER BY n DESC, u.k LIMIT ${limit}`,
        params: parts.flatMap((part) => part.params),
      };
    });
    const statement = this.dialect.unionAll(branches);
    const result = new Map<string, Array<{ key: string | null; count: number }>>(
      parents.map((parent) => [parentKey(parent), []]),
    );
    for (const row of await this.query(statement.text, statement.params)) {
      result
        .get(parentColumn ? parentKey(row._parent) : parentKey(null))
        ?.push({ key: row.k === null || row.k === NO_VALUE ? null : String(row.k), count: Number(row.n) });
    }
    for (const counts of result.values()) counts.sort((a, b) => b.count - a.count || compareKeys(a.key, b.key));
    return result;
  }

  /**
   * EventFilter as conditions on `events e`. Identity fields become one subquery on
   * identities (served by their indexes, then ix_events_identity_time); resource and order
   * fields become semi-joins on the link tables. Empty lists do not filter.
   */
  private eventFilter(f: EventFilterValues): Sql[] {
    const d = this.dialect;
    const where: Sql[] = [];
    const list = (column: string, values: string[] | null | undefined) => {
      if (values?.length) where.push(inList(column, values));
    };
    list("e.event_id", f.eventIds);
    list("e.event_name", f.eventNames);
    list("e.event_type", f.eventTypes);
    list("e.event_rw", f.eventRW);
    list("e.service_name", f.serviceNames);
    list("e.event_source", f.eventSources);
    list("e.acs_region", f.regions);
    list("e.account_id", f.accountIds);
    list("e.source_ip_address", f.sourceIpAddresses);
    list("e.error_code", f.errorCodes);
    if (f.failed != null) where.push(sql("e.failed = ?", d.bool(f.failed)));
    if (f.from) where.push(sql("e.event_time >= ?", d.time(f.from)));
    if (f.to) where.push(sql("e.event_time < ?", d.time(f.to)));

    const identity: Sql[] = [];
    const identityList = (column: string, values: string[] | null | undefined) => {
      if (values?.length) identity.push(inList(column, values));
    };
    identityList("i.principal_id", f.principalIds);
    identityList("i.user_name", f.userNames);
    identityList("i.type", f.identityTypes);
    identityList("i.access_key_id", f.accessKeyIds);
    if (identity.length) {
      const sub = and(identity);
      where.push({
        text: `e.identity_pk IN (SELECT i.pk FROM ${this.scope.narrowing("identities", "i")} WHERE ${sub.text})`,
        params: sub.params,
      });
    }
    if (f.resourceIds?.length) {
      const sub = inList("rr.resource_id", f.resourceIds);
      where.push({
        text: `e.pk IN (SELECT err.event_pk FROM ${this.scope.narrowing("event_resources", "err")} JOIN ${this.scope.narrowing("resources", "rr")} ON rr.pk = err.resource_pk WHERE ${sub.text})`,
        params: sub.params,
      });
    }
    if (f.resourceTypes?.length) {
      const sub = inList("rt.type", f.resourceTypes);
      where.push({
        text: `e.pk IN (SELECT ert.event_pk FROM ${this.scope.narrowing("event_resources", "ert")} JOIN ${this.scope.narrowing("resources", "rt")} ON rt.pk = ert.resource_pk WHERE ${sub.text})`,
        params: sub.params,
      });
    }
    if (f.orderIds?.length) {
      const sub = inList("eof.order_id", f.orderIds);
      where.push({
        text: `e.pk IN (SELECT eof.event_pk FROM ${this.scope.narrowing("event_orders", "eof")} WHERE ${sub.text})`,
        params: sub.params,
      });
    }
    return where;
  }
}

function compareKeys(a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  return a < b ? -1 : 1;
}
