/**
 * The limit for the ingest figure: the rows TrailGraph's writer stores for a dataset, written
 * by plain mysql2 multi-row INSERTs of 1,000 rows a statement into the same (freshly migrated)
 * tables, with the same statement heads (insert-or-ignore on natural keys, the same upserts
 * for accounts, orders and order items, and for the daily and period rollups of eventCounts, which the
 * writer adds to per batch of 1,000 events: the rows of each 1,000 events here).
 *
 * Only the INSERTs are timed. Generating the events, `normalizeEvent` and turning the events
 * into rows happen in between, untimed. Keys are assigned here (explicit `pk`s), so nothing is
 * read back, and rows are buffered per table so that every statement but the last of each
 * table carries exactly 1,000 rows. One connection, autocommit, as one loader would run.
 */
import { createConnection, type Connection } from "mysql2/promise";
import { DAILY_COUNT_COLUMNS, DailyCounts, PERIOD_COUNT_COLUMNS } from "../src/db/daily-counts";
import { mergeOrder } from "../src/ingest/writer";
import { trailgraph, type GenerateOptions, type NormalizedEvent } from "./trailgraph";

export interface RawIngestResult {
  events: number;
  statements: number;
  /** Time spent in INSERT statements (building their text and parameters included). */
  insertSeconds: number;
  eventsPerSecond: number;
  /** Rows sent per table. */
  rows: Record<string, number>;
}

const ROWS_PER_STATEMENT = 1000;

type Row = Record<string, unknown>;

/**
 * Rows for one table. A row names every value TrailGraph's writer has ever stored for it;
 * the statement sends those the table has (read from information_schema when the run
 * starts), so this follows the schema as the migrations change it.
 */
class TableBuffer {
  rows: Row[] = [];
  sent = 0;
  columns: string[] = [];
  constructor(
    readonly table: string,
    readonly head: string,
    readonly tail = "",
  ) {}
}

/** A buffer whose rows merge by key until they are sent (orders and order items). */
class KeyedBuffer<T> {
  rows = new Map<string, T>();
  constructor(
    readonly target: TableBuffer,
    readonly toRow: (value: T) => Row,
    readonly merge: (kept: T, next: T) => T,
  ) {}

  add(key: string, value: T): void {
    const kept = this.rows.get(key);
    this.rows.set(key, kept === undefined ? value : this.merge(kept, value));
  }

  /** Moves the merged rows into the table buffer. */
  drain(): void {
    for (const value of this.rows.values()) this.target.rows.push(this.toRow(value));
    this.rows.clear();
  }
}

interface OrderRow {
  orderId: string;
  accountId: string | null;
  createdAt: Date;
  purchasePk: number | null;
}

interface ItemRow {
  orderId: string;
  resourcePk: number;
  config: unknown;
}

export async function rawIngest(
  databaseUrl: string,
  generate: GenerateOptions,
  log: (line: string) => void = () => undefined,
): Promise<RawIngestResult> {
  const { generateEvents } = trailgraph.generator();
  const { normalizeEvent } = trailgraph.normalize();
  const connection = await createConnection({
    uri: databaseUrl.replace(/^mariadb:/, "mysql:"),
    timezone: "Z",
    charset: "utf8mb4_bin",
    supportBigNumbers: true,
    bigNumberStrings: false,
    stringifyObjects: true,
  });

  const accounts = new TableBuffer(
    "accounts",
    "INSERT INTO accounts",
    " ON DUPLICATE KEY UPDATE first_seen_at = LEAST(first_seen_at, VALUES(first_seen_at))",
  );
  const identities = new TableBuffer("identities", "INSERT IGNORE INTO identities");
  const events = new TableBuffer("events", "INSERT IGNORE INTO events");
  const payloads = new TableBuffer("event_payloads", "INSERT IGNORE INTO event_payloads");
  const resources = new TableBuffer("resources", "INSERT IGNORE INTO resources");
  const eventResources = new TableBuffer("event_resources", "INSERT IGNORE INTO event_resources");
  const orders = new TableBuffer(
    "orders",
    "INSERT INTO orders",
    // The writer's upsert (src/ingest/writer.ts), assignment order included.
    " ON DUPLICATE KEY UPDATE created_at = CASE WHEN purchase_event_pk IS NOT NULL THEN created_at " +
      "WHEN VALUES(purchase_event_pk) IS NOT NULL THEN VALUES(created_at) " +
      "ELSE LEAST(created_at, VALUES(created_at)) END, " +
      "purchase_event_pk = COALESCE(purchase_event_pk, VALUES(purchase_event_pk)), " +
      "account_id = COALESCE(account_id, VALUES(account_id))",
  );
  const orderItems = new TableBuffer(
    "order_items",
    "INSERT INTO order_items",
    " ON DUPLICATE KEY UPDATE article_config = COALESCE(article_config, VALUES(article_config))",
  );
  const eventOrders = new TableBuffer("event_orders", "INSERT IGNORE INTO event_orders");
  const dailyCounts = new TableBuffer(
    "event_daily_counts",
    "INSERT INTO event_daily_counts",
    // The writer's upsert: add the new events' counts.
    " ON DUPLICATE KEY UPDATE n = n + VALUES(n)",
  );
  const periodCounts = new TableBuffer(
    "event_period_counts",
    "INSERT INTO event_period_counts",
    " ON DUPLICATE KEY UPDATE n = n + VALUES(n)",
  );
  const tables = [
    accounts,
    identities,
    events,
    payloads,
    resources,
    eventResources,
    orders,
    orderItems,
    eventOrders,
    dailyCounts,
    periodCounts,
  ];
  const [columnRows] = (await connection.query(
    "SELECT TABLE_NAME AS t, COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() ORDER BY ORDINAL_POSITION",
  )) as unknown as [Array<{ t: string; c: string }>];
  for (const table of tables) {
    table.columns = columnRows.filter((row) => row.t === table.table).map((row) => row.c);
    if (table.columns.length === 0) throw new Error(`raw ingest: no table ${table.table} in ${databaseUrl}`);
  }
  const pendingOrders = new KeyedBuffer<OrderRow>(
    orders,
    (o) => ({ order_id: o.orderId, account_id: o.accountId, created_at: o.createdAt, purchase_event_pk: o.purchasePk }),
    mergeOrder,
  );
  const pendingItems = new KeyedBuffer<ItemRow>(
    orderItems,
    (i) => ({ order_id: i.orderId, resource_pk: i.resourcePk, article_config: json(i.config) }),
    (kept, next) => (kept.config === null ? next : kept),
  );

  /** The new events since the last 1,000, counted by account, field, day and value. */
  const newCounts = new DailyCounts();
  const firstSeen = new Set<string>();
  const identityPks = new Map<string, number>();
  const resourcePks = new Map<string, number>();
  const eventPks = new Map<string, number>();
  let statements = 0;
  let insertNanos = 0n;
  let count = 0;

  const send = async (buffer: TableBuffer, rows: Row[]) => {
    const started = process.hrtime.bigint();
    // The columns this run's rows carry values for (a column left out takes its default).
    const columns = buffer.columns.filter((column) => column in rows[0]);
    const tuple = `(${Array(columns.length).fill("?").join(", ")})`;
    const sql = `${buffer.head} (${columns.join(", ")}) VALUES ${Array(rows.length).fill(tuple).join(", ")}${buffer.tail}`;
    const params: unknown[] = [];
    for (const row of rows) for (const column of columns) params.push(row[column]);
    await connection.query(sql, params);
    insertNanos += process.hrtime.bigint() - started;
    statements++;
    buffer.sent += rows.length;
  };
  /** Sends full statements; with `all`, the remainders too. */
  const flush = async (all: boolean) => {
    for (const row of newCounts.rows()) {
      dailyCounts.rows.push(Object.fromEntries(DAILY_COUNT_COLUMNS.map((column, index) => [column, row[index]])));
    }
    for (const row of newCounts.periodRows()) {
      periodCounts.rows.push(Object.fromEntries(PERIOD_COUNT_COLUMNS.map((column, index) => [column, row[index]])));
    }
    newCounts.clear();
    if (all || pendingOrders.rows.size >= ROWS_PER_STATEMENT) pendingOrders.drain();
    if (all || pendingItems.rows.size >= ROWS_PER_STATEMENT) pendingItems.drain();
    for (const buffer of tables) {
      while (buffer.rows.length >= ROWS_PER_STATEMENT || (all && buffer.rows.length > 0)) {
        await send(buffer, buffer.rows.splice(0, ROWS_PER_STATEMENT));
      }
    }
  };

  const addEvent = (event: NormalizedEvent) => {
    for (const accountId of event.accountIds) {
      // Events come in time order: the first sighting is the earliest.
      if (firstSeen.has(accountId)) continue;
      firstSeen.add(accountId);
      accounts.rows.push({ account_id: accountId, first_seen_at: event.eventTime });
    }
    let identityPk: number | null = null;
    if (event.identity) {
      const i = event.identity;
      identityPk = identityPks.get(i.identityKey) ?? null;
      if (identityPk === null) {
        identityPk = identityPks.size + 1;
        identityPks.set(i.identityKey, identityPk);
        identities.rows.push({
          pk: identityPk,
          identity_key: i.identityKey,
          type: i.type,
          account_id: i.accountId,
          principal_id: i.principalId,
          user_name: i.userName,
          access_key_id: i.accessKeyId,
        });
      }
    }
    let pk = eventPks.get(event.eventId);
    if (pk === undefined) {
      pk = eventPks.size + 1;
      eventPks.set(event.eventId, pk);
      events.rows.push(eventRow(pk, event, identityPk));
      newCounts.add(event);
      payloads.rows.push({
        event_pk: pk,
        // Earlier schemas also kept these three apart; only the columns the table has are sent.
        request_parameters: json(event.payload.requestParameters),
        response_elements: json(event.payload.responseElements),
        additional_event_data: json(event.payload.additionalEventData),
        raw: event.payload.rawText,
      });
    }
    const resourcePk = (type: string, resourceId: string) => {
      const key = `${type}\u0000${resourceId}`;
      let found = resourcePks.get(key);
      if (found === undefined) {
        found = resourcePks.size + 1;
        resourcePks.set(key, found);
        resources.rows.push({
          pk: found,
          type,
          resource_id: resourceId,
          account_id: event.accountId,
          first_seen_at: event.eventTime,
        });
      }
      return found;
    };
    for (const ref of event.resources) {
      eventResources.rows.push({
        event_pk: pk,
        resource_pk: resourcePk(ref.type, ref.resourceId),
        event_time: event.eventTime,
      });
    }
    for (const order of event.orders) {
      pendingOrders.add(order.orderId, {
        orderId: order.orderId,
        accountId: event.accountId,
        createdAt: event.eventTime,
        purchasePk: order.isPurchase ? pk : null,
      });
      for (const item of order.items) {
        const itemPk = resourcePk(item.type, item.resourceId);
        pendingItems.add(`${order.orderId}\u0000${itemPk}`, {
          orderId: order.orderId,
          resourcePk: itemPk,
          config: item.articleConfig,
        });
      }
      eventOrders.rows.push({ event_pk: pk, order_id: order.orderId, event_time: event.eventTime });
    }
  };

  try {
    let sinceLog = 0;
    for (const generated of generateEvents(generate)) {
      // The events as the files hold them (JSON), then normalized: both untimed.
      addEvent(normalizeEvent(JSON.parse(JSON.stringify(generated))));
      count++;
      if (count % ROWS_PER_STATEMENT === 0) await flush(false);
      if (++sinceLog === 100_000) {
        sinceLog = 0;
        log(`raw INSERTs: ${count} events, ${(Number(insertNanos) / 1e9).toFixed(1)} s in INSERTs`);
      }
    }
    await flush(true);
  } finally {
    await connection.end();
  }
  const insertSeconds = Number(insertNanos) / 1e9;
  return {
    events: eventPks.size,
    statements,
    insertSeconds,
    eventsPerSecond: eventPks.size / insertSeconds,
    rows: Object.fromEntries(tables.map((table) => [table.table, table.sent])),
  };
}

/** An events row: the writer's columns (src/ingest/writer.ts) plus the pk assigned here. */
function eventRow(pk: number, e: NormalizedEvent, identityPk: number | null): Row {
  return {
    pk,
    event_id: e.eventId,
    event_time: e.eventTime,
    event_name: e.eventName,
    event_type: e.eventType,
    event_category: e.eventCategory,
    event_rw: e.eventRW,
    event_version: e.eventVersion,
    event_source: e.eventSource,
    service_name: e.serviceName,
    acs_region: e.acsRegion,
    request_id: e.requestId,
    api_version: e.apiVersion,
    source_ip_address: e.sourceIpAddress,
    user_agent: e.userAgent,
    vpc_id: e.vpcId,
    is_global: e.isGlobal,
    error_code: e.errorCode,
    error_message: e.errorMessage,
    failed: e.failed,
    sensitive_action: e.sensitiveAction,
    recipient_account_id: e.recipientAccountId,
    account_id: e.accountId,
    identity_pk: identityPk,
    session_created_at: e.sessionCreatedAt,
    mfa_authenticated: e.mfaAuthenticated,
  };
}

function json(value: unknown): string | null {
  return value === null || value === undefined ? null : JSON.stringify(value);
}

/** Row counts of the tables both ingests fill. */
export async function tableCounts(connection: Connection): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of TABLES) {
    const [rows] = await connection.query(`SELECT COUNT(*) AS n FROM ${table}`);
    counts[table] = Number((rows as Array<{ n: number }>)[0].n);
  }
  return counts;
}

export const TABLES = [
  "events",
  "event_payloads",
  "identities",
  "accounts",
  "resources",
  "event_resources",
  "orders",
  "order_items",
  "event_orders",
  "event_daily_counts",
  "event_period_counts",
] as const;
