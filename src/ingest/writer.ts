import type { DataSource, EntityManager, EntityMetadata } from "typeorm";
import { dialectOf, type Dialect } from "../db/dialect";
import {
  DAILY_COUNT_COLUMNS,
  DAILY_COUNTS_TABLE,
  DailyCounts,
  PERIOD_COUNT_COLUMNS,
  PERIOD_COUNTS_TABLE,
} from "../db/daily-counts";
import { placeholders } from "../db/sql";
import { Account } from "../entities/account.entity";
import { EventOrder, EventResource } from "../entities/event-links.entity";
import { EventPayload } from "../entities/event-payload.entity";
import { Event } from "../entities/event.entity";
import { Order } from "../entities/order.entity";
import { OrderItem } from "../entities/order-item.entity";
import { ReferencedResource } from "../entities/referenced-resource.entity";
import { UserIdentity } from "../entities/user-identity.entity";
import type { NormalizedEvent, NormalizedOrder, ResourceRef } from "./normalize";

/** A source file read to its end, recorded with the batch that holds its last records. */
export interface CompletedFile {
  pathKey: string;
  path: string;
  size: number;
  md5: string;
  records: number;
}

/** A rejected record, kept in ingest_rejects. */
export interface RejectRow {
  rejectKey: string;
  source: string;
  position: string;
  byteOffset: number | null;
  reason: string;
  text: string | null;
}

/** Bookkeeping written in the same transaction as a batch. */
export interface Bookkeeping {
  rejects?: RejectRow[];
  files?: CompletedFile[];
}

/** Errors after which the whole batch is simply tried again: lock conflicts between writers. */
const RETRYABLE = new Set(["ER_LOCK_DEADLOCK", "ER_LOCK_WAIT_TIMEOUT", "SQLITE_BUSY", "SQLITE_BUSY_SNAPSHOT"]);
const ATTEMPTS = 6;

/** Rows known to be stored: identity and resource keys with their pks, accounts' first times. */
class WriterCache {
  static readonly LIMIT = 200_000;
  readonly identities = new Map<string, number>();
  readonly resources = new Map<string, Owner & { pk: number }>();
  readonly accounts = new Map<string, Date | null>();

  merge(other: WriterCache): void {
    for (const [name, map] of [
      ["identities", this.identities],
      ["resources", this.resources],
      ["accounts", this.accounts],
    ] as const) {
      // A plain bound on memory: past it, start again (a cache miss only costs a statement).
      if (map.size > WriterCache.LIMIT) map.clear();
      for (const [key, value] of other[name]) (map as Map<string, unknown>).set(key, value);
    }
  }
}

interface Owner {
  accountId: string | null;
  time: Date;
}

/** Order of owner candidates: one with an account first, then the earliest, then the smaller ID. */
function compareOwners(a: Owner, b: Owner): number {
  if ((a.accountId === null) !== (b.accountId === null)) return a.accountId === null ? 1 : -1;
  if (a.time.getTime() !== b.time.getTime()) return a.time.getTime() - b.time.getTime();
  const left = a.accountId ?? "";
  const right = b.accountId ?? "";
  return left === right ? 0 : left < right ? -1 : 1;
}

/** Cache entries of one transaction, merged only once it commits. */
type Staged = WriterCache;

/** What one write did. */
export interface WriteResult {
  /** Events stored for the first time. */
  inserted: number;
  /** Events that were already stored (re-deliveries, duplicates within the batch). */
  duplicates: number;
}

type Row = unknown[];

/**
 * Writes batches of normalized events in one transaction per batch, with multi-row
 * statements keyed by natural keys, so that writing the same events again (or two writers
 * with overlapping input) leaves exactly the rows of one clean write:
 * - events, identities, resources and links: insert-or-ignore on their unique keys;
 * - accounts and orders: upserts that only ever move toward a fixed point (earliest time,
 *   the purchase event once known, a known account or item configuration kept).
 * A later delivery of a stored event still adds the links it carries.
 */
export class EventWriter {
  private readonly dialect: Dialect;
  /** What committed batches stored: keys of immutable rows, so later batches skip them. */
  private readonly cache = new WriterCache();
  /** Each graph table's columns, from its entity (as the read side's), by entity. */
  private readonly columnLists = new Map<Function, ColumnList>();
  /** Most bytes one statement may take (MySQL: the server's max_allowed_packet, less room to spare). */
  private statementBytes = SQLITE_STATEMENT_BYTES;

  constructor(private readonly dataSource: DataSource) {
    this.dialect = dialectOf(dataSource);
  }

  /** The insert columns of an entity's table (every column but a generated key). */
  private columns(entity: Function): ColumnList {
    let list = this.columnLists.get(entity);
    if (!list) {
      list = new ColumnList(this.dataSource.getMetadata(entity), this.dialect);
      this.columnLists.set(entity, list);
    }
    return list;
  }

  /**
   * Multi-row INSERT of an entity's rows (`verb`: INSERT INTO, or the dialect's insert-or-ignore),
   * each given as an object with the entity's property names; see insertRows.
   */
  private insertEntities(
    manager: EntityManager,
    verb: string,
    entity: Function,
    rows: Array<{ source: object; extra?: Record<string, unknown> }>,
    tail = "",
  ): Promise<number> {
    const list = this.columns(entity);
    return this.insertRows(
      manager,
      `${verb} ${list.table}`,
      list.names,
      rows.map(({ source, extra }) => list.row(source, extra)),
      tail,
    );
  }

  /**
   * Reads what the server accepts in one statement. A multi-row INSERT larger than MySQL's
   * `max_allowed_packet` fails whole; statements are cut to stay under it, and an event that
   * alone would not fit is rejected by `unstorable` before it reaches a batch.
   */
  async open(): Promise<this> {
    if (this.dialect.kind === "mysql") {
      const [row] = await this.dataSource.query("SELECT @@max_allowed_packet AS packet");
      this.statementBytes = Number(row.packet) - PACKET_SPARE;
    }
    return this;
  }

  /** Why the store cannot take this event at all, or null when it can. */
  unstorable(event: NormalizedEvent): string | null {
    if (this.dialect.kind !== "mysql") return null;
    const room = this.statementBytes - STATEMENT_HEAD_BYTES;
    // The typed values are read from the event itself: its largest row (the payload's, or the
    // events row with its messages) takes at most 3 bytes a character, escaping doubling them,
    // plus the row's few fixed columns. Most events are far below; only large ones are counted.
    const raw = event.payload.rawText;
    if (6 * raw.length + STATEMENT_HEAD_BYTES <= room) return null;
    const largest = Math.max(sqlBytes(raw), rowBytes(this.columns(Event).row(event, { identityPk: 0 })));
    if (largest <= room) return null;
    return (
      `the event needs a statement of about ${largest} bytes; the database server accepts ${this.statementBytes + PACKET_SPARE} ` +
      "(max_allowed_packet): raise max_allowed_packet on the server to store it"
    );
  }

  async write(batch: readonly NormalizedEvent[], bookkeeping: Bookkeeping = {}): Promise<WriteResult> {
    for (let attempt = 1; ; attempt++) {
      try {
        const staged = new WriterCache();
        const inserted = await this.transaction(async (manager) => {
          const count = batch.length > 0 ? await this.writeInTransaction(manager, batch, staged) : 0;
          await this.writeBookkeeping(manager, bookkeeping);
          return count;
        });
        // Only what a committed transaction wrote may be trusted by later batches.
        this.cache.merge(staged);
        return { inserted, duplicates: batch.length - inserted };
      } catch (error) {
        const code = (error as { driverError?: { code?: string }; code?: string }).driverError?.code;
        if (attempt >= ATTEMPTS || !RETRYABLE.has(code ?? "")) throw error;
        await new Promise((resolve) => setTimeout(resolve, 20 * 2 ** attempt * Math.random()));
      }
    }
  }

  /**
   * A transaction; REPEATABLE READ on MySQL (its default, made explicit: telling the events a
   * batch inserted from those it found relies on one snapshot for the whole transaction).
   */
  private transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.dialect.kind === "mysql"
      ? this.dataSource.transaction("REPEATABLE READ", work)
      : this.dataSource.transaction(work);
  }

  /** Files recorded as ingested whole, by path key. */
  async completedFiles(): Promise<Map<string, CompletedFile>> {
    const rows: Array<Record<string, unknown>> = await this.dataSource.query(
      "SELECT path_key, path, size, md5, records FROM ingested_files",
    );
    return new Map(
      rows.map((row) => [
        String(row.path_key),
        {
          pathKey: String(row.path_key),
          path: String(row.path),
          size: Number(row.size),
          md5: String(row.md5),
          records: Number(row.records),
        },
      ]),
    );
  }

  private async writeBookkeeping(manager: EntityManager, { rejects = [], files = [] }: Bookkeeping): Promise<void> {
    const d = this.dialect;
    const now = d.time(new Date());
    await this.insertRows(
      manager,
      `${d.insertIgnore} ingest_rejects`,
      ["reject_key", "rejected_at", "source", "position", "byte_offset", "reason", "text"],
      uniqueBy(rejects, (r) => r.rejectKey).map((r) => [
        r.rejectKey,
        now,
        r.source,
        r.position,
        r.byteOffset,
        r.reason,
        r.text,
      ]),
    );
    await this.insertRows(
      manager,
      "INSERT INTO ingested_files",
      ["path_key", "path", "size", "md5", "records", "completed_at"],
      uniqueBy(
        files,
        (f) => f.pathKey,
        (_kept, next) => next,
      ).map((f) => [f.pathKey, f.path, f.size, f.md5, f.records, now]),
      d.onConflict(["path_key"], {
        size: d.excluded("size"),
        md5: d.excluded("md5"),
        records: d.excluded("records"),
        completed_at: d.excluded("completed_at"),
      }),
    );
  }

  private async writeInTransaction(
    manager: EntityManager,
    events: readonly NormalizedEvent[],
    staged: Staged,
  ): Promise<number> {
    const d = this.dialect;
    // The first copy of an event is the one stored. Every copy still adds the links it carries,
    // as a re-delivery in a later batch does, so that batch boundaries never change the result.
    const stored = uniqueBy(events, (event) => event.eventId);

    await this.upsertAccounts(manager, events, staged);
    const identityPks = await this.insertIdentities(manager, events, staged);

    const { eventPks, inserted } = await this.insertEvents(manager, stored, identityPks);
    const pkOf = (event: NormalizedEvent) => eventPks.get(event.eventId)!;

    await this.insertEntities(
      manager,
      d.insertIgnore,
      EventPayload,
      // The JSON text written once by the normaliser: as it is stored.
      stored.map((event) => ({ source: { eventPk: pkOf(event) }, extra: { raw: event.payload.rawText } })),
    );

    const resourcePks = await this.insertResources(manager, events, staged);
    const resourcePk = (ref: ResourceRef) => resourcePks.get(resourceKey(ref))!;
    await this.insertEntities(
      manager,
      d.insertIgnore,
      EventResource,
      events.flatMap((event) =>
        event.resources.map((ref) => ({
          source: { eventPk: pkOf(event), resourcePk: resourcePk(ref), eventTime: event.eventTime },
        })),
      ),
    );

    await this.upsertOrders(manager, events, pkOf);
    await this.insertEntities(
      manager,
      "INSERT INTO",
      OrderItem,
      uniqueBy(
        events.flatMap((event) =>
          event.orders.flatMap((order) =>
            order.items.map((item) => ({
              orderId: order.orderId,
              resourcePk: resourcePk(item),
              articleConfig: item.articleConfig,
            })),
          ),
        ),
        (item) => `${item.orderId}\u0000${item.resourcePk}`,
        // Several deliveries in one batch: the first that knows the configuration wins.
        (kept, next) => (kept.articleConfig === null ? next : kept),
      ).map((item) => ({ source: item })),
      d.onConflict(["order_id", "resource_pk"], {
        article_config: `COALESCE(article_config, ${d.excluded("article_config")})`,
      }),
    );
    await this.insertEntities(
      manager,
      d.insertIgnore,
      EventOrder,
      events.flatMap((event) =>
        event.orders.map((order) => ({
          source: { eventPk: pkOf(event), orderId: order.orderId, eventTime: event.eventTime },
        })),
      ),
    );
    // Last, so that the rows every writer shares (an account's day) stay locked briefly.
    await this.addDailyCounts(manager, inserted);
    return inserted.length;
  }

  /**
   * Inserts the events not stored yet and returns every event's pk, and the events this
   * transaction inserted: those the daily rollup counts. The writer tells them apart with two
   * plain reads of one snapshot (REPEATABLE READ on MySQL; SQLite has one writer at a time):
   * before the INSERT they are absent, after it they are there, as a transaction sees its own
   * rows. An event another writer committed meanwhile stays out of the snapshot; its pk comes
   * from a locking read, which sees the latest committed rows.
   */
  private async insertEvents(
    manager: EntityManager,
    stored: readonly NormalizedEvent[],
    identityPks: Map<string, number>,
  ): Promise<{ eventPks: Map<string, number>; inserted: NormalizedEvent[] }> {
    const d = this.dialect;
    const head = "SELECT pk, event_id AS k FROM events WHERE event_id IN";
    const eventPks = await this.selectKeys(
      manager,
      head,
      stored.map((event) => event.eventId),
      "",
    );
    const absent = stored.filter((event) => !eventPks.has(event.eventId));
    const affected = await this.insertEntities(
      manager,
      d.insertIgnore,
      Event,
      absent.map((event) => ({
        source: event,
        extra: { identityPk: event.identity ? identityPks.get(event.identity.identityKey)! : null },
      })),
    );
    const mine = await this.selectKeys(
      manager,
      head,
      absent.map((event) => event.eventId),
      "",
    );
    const inserted = absent.filter((event) => mine.has(event.eventId));
    if (inserted.length !== affected) {
      throw new Error(
        `the events table reports ${affected} events inserted, the snapshot shows ${inserted.length}: ` +
          "is the transaction isolation level REPEATABLE READ?",
      );
    }
    const committedMeanwhile = await this.selectKeys(
      manager,
      head,
      absent.filter((event) => !mine.has(event.eventId)).map((event) => event.eventId),
      this.currentRead,
    );
    for (const map of [mine, committedMeanwhile]) for (const [key, pk] of map) eventPks.set(key, pk);
    return { eventPks, inserted };
  }

  /** Adds the events this batch inserted to the daily and the period rollups: a multi-row upsert each. */
  private async addDailyCounts(manager: EntityManager, inserted: readonly NormalizedEvent[]): Promise<void> {
    const counts = new DailyCounts();
    for (const event of inserted) counts.add(event);
    const d = this.dialect;
    const add = { n: `n + ${d.excluded("n")}` };
    await this.insertRows(
      manager,
      `INSERT INTO ${DAILY_COUNTS_TABLE}`,
      DAILY_COUNT_COLUMNS,
      counts.rows(),
      d.onConflict(["account_id", "field", "day", "value"], add),
    );
    await this.insertRows(
      manager,
      `INSERT INTO ${PERIOD_COUNTS_TABLE}`,
      PERIOD_COUNT_COLUMNS,
      counts.periodRows(),
      d.onConflict(["account_id", "field", "span", "start_day", "value"], add),
    );
  }

  private async upsertAccounts(
    manager: EntityManager,
    events: readonly NormalizedEvent[],
    staged: Staged,
  ): Promise<void> {
    // An account's first time is that of its own earliest event: the events of others that
    // name it (as requester or recipient) create it without a time, so that nothing of theirs
    // shows through it.
    const firstSeen = new Map<string, Date | null>();
    for (const event of events) {
      for (const accountId of event.accountIds) {
        const own = accountId === event.accountId ? event.eventTime : null;
        const seen = firstSeen.get(accountId);
        if (seen === undefined || earlierTime(own, seen)) firstSeen.set(accountId, own);
      }
    }
    // An account already stored with an earlier or equal first time needs no statement.
    const changed = [...firstSeen].filter(([accountId, time]) => {
      const known = this.cache.accounts.get(accountId);
      return known === undefined || earlierTime(time, known);
    });
    const d = this.dialect;
    const stored = "first_seen_at";
    const incoming = d.excluded("first_seen_at");
    await this.insertEntities(
      manager,
      "INSERT INTO",
      Account,
      changed.map(([accountId, firstSeenAt]) => ({ source: { accountId, firstSeenAt } })),
      // The earlier of two times; a null (no own event yet) never replaces a time.
      d.onConflict(["account_id"], {
        first_seen_at: `COALESCE(${d.least(stored, incoming)}, ${stored}, ${incoming})`,
      }),
    );
    for (const [accountId, time] of changed) staged.accounts.set(accountId, time);
  }

  private async insertIdentities(
    manager: EntityManager,
    events: readonly NormalizedEvent[],
    staged: Staged,
  ): Promise<Map<string, number>> {
    const pks = new Map<string, number>();
    const identities = uniqueBy(
      events.flatMap((event) => (event.identity ? [event.identity] : [])),
      (identity) => identity.identityKey,
    ).filter((identity) => {
      // Identity rows never change: a known one needs neither an insert nor a read.
      const known = this.cache.identities.get(identity.identityKey);
      if (known !== undefined) pks.set(identity.identityKey, known);
      return known === undefined;
    });
    await this.insertEntities(
      manager,
      this.dialect.insertIgnore,
      UserIdentity,
      identities.map((identity) => ({ source: identity })),
    );
    const read = await this.selectKeys(
      manager,
      "SELECT pk, identity_key AS k FROM identities WHERE identity_key IN",
      identities.map((identity) => identity.identityKey),
    );
    for (const [key, pk] of read) {
      pks.set(key, pk);
      staged.identities.set(key, pk);
    }
    return pks;
  }

  /**
   * Resources and their owners. The owner is the minimum, over every event naming the
   * resource, of (has an account first, then earliest time, then smallest account ID): a
   * minimum is the same in any order, batching or concurrency. New resources are inserted
   * with this batch's candidate; stored ones are read under lock and updated only when the
   * batch's candidate is smaller.
   */
  private async insertResources(
    manager: EntityManager,
    events: readonly NormalizedEvent[],
    staged: Staged,
  ): Promise<Map<string, number>> {
    const pks = new Map<string, number>();
    const resources = uniqueBy(
      events.flatMap((event) =>
        event.resources.map((ref) => ({ ...ref, owner: { accountId: event.accountId, time: event.eventTime } })),
      ),
      resourceKey,
      (kept, next) => (compareOwners(next.owner, kept.owner) < 0 ? next : kept),
    ).filter((resource) => {
      // Nothing to write when the stored owner is already at or below this candidate.
      const known = this.cache.resources.get(resourceKey(resource));
      if (known !== undefined && compareOwners(resource.owner, known) >= 0) {
        pks.set(resourceKey(resource), known.pk);
        return false;
      }
      return true;
    });
    const d = this.dialect;
    await this.insertEntities(
      manager,
      d.insertIgnore,
      ReferencedResource,
      resources.map((r) => ({
        source: { type: r.type, resourceId: r.resourceId, accountId: r.owner.accountId, firstSeenAt: r.owner.time },
      })),
    );
    const candidates = new Map(resources.map((r) => [resourceKey(r), r.owner]));
    const ids = [...new Set(resources.map((r) => r.resourceId))];
    for (const chunk of chunks(ids, this.rowsPerStatement(1))) {
      const rows: Array<Record<string, unknown>> = await manager.query(
        `SELECT pk, type, resource_id, account_id, first_seen_at FROM resources WHERE resource_id IN (${placeholders(chunk.length)})${this.lockedRead}`,
        chunk,
      );
      for (const row of rows) {
        const key = resourceKey({ type: String(row.type), resourceId: String(row.resource_id) });
        const candidate = candidates.get(key);
        if (candidate === undefined) continue;
        const pk = Number(row.pk);
        const stored = {
          accountId: row.account_id === null ? null : String(row.account_id),
          time: d.readTime(row.first_seen_at),
        };
        const owner = compareOwners(candidate, stored) < 0 ? candidate : stored;
        if (
          owner === candidate &&
          (candidate.accountId !== stored.accountId || candidate.time.getTime() !== stored.time.getTime())
        ) {
          await manager.query("UPDATE resources SET account_id = ?, first_seen_at = ? WHERE pk = ?", [
            candidate.accountId,
            d.time(candidate.time),
            pk,
          ]);
        }
        pks.set(key, pk);
        staged.resources.set(key, { pk, ...owner });
      }
    }
    return pks;
  }

  /**
   * Orders the batch names. An order belongs to one mention of it, which also gives its
   * `createdAt`: its purchase event, else its earliest mention (`orderOwnerFirst`), so that a
   * caller who may read the order sees only a time of its own account's events. New orders are
   * inserted; stored ones are read under lock and updated only when the batch's mention comes
   * first.
   */
  private async upsertOrders(
    manager: EntityManager,
    events: readonly NormalizedEvent[],
    pkOf: (event: NormalizedEvent) => number,
  ): Promise<void> {
    const mentions = uniqueBy(
      events.flatMap((event) =>
        event.orders.map((order: NormalizedOrder): OrderMention => ({
          orderId: order.orderId,
          accountId: event.accountId,
          createdAt: event.eventTime,
          purchasePk: order.isPurchase ? pkOf(event) : null,
        })),
      ),
      (mention) => mention.orderId,
      mergeOrder,
    );
    if (mentions.length === 0) return;
    const d = this.dialect;
    await this.insertEntities(
      manager,
      d.insertIgnore,
      Order,
      mentions.map(({ orderId, accountId, createdAt, purchasePk }) => ({
        source: { orderId, accountId, createdAt, purchaseEventPk: purchasePk },
      })),
    );
    const candidates = new Map(mentions.map((mention) => [mention.orderId, mention]));
    for (const chunk of chunks([...candidates.keys()], this.rowsPerStatement(1))) {
      const rows: Array<Record<string, unknown>> = await manager.query(
        `SELECT order_id, account_id, created_at, purchase_event_pk FROM orders WHERE order_id IN (${placeholders(chunk.length)})${this.lockedRead}`,
        chunk,
      );
      for (const row of rows) {
        const candidate = candidates.get(String(row.order_id));
        if (candidate === undefined) continue;
        const stored: OrderMention = {
          orderId: candidate.orderId,
          accountId: row.account_id === null ? null : String(row.account_id),
          createdAt: d.readTime(row.created_at),
          purchasePk: row.purchase_event_pk === null ? null : Number(row.purchase_event_pk),
        };
        if (orderOwnerFirst(candidate, stored) < 0) {
          await manager.query(
            "UPDATE orders SET account_id = ?, created_at = ?, purchase_event_pk = ? WHERE order_id = ?",
            [candidate.accountId, d.time(candidate.createdAt), candidate.purchasePk, candidate.orderId],
          );
        }
      }
    }
  }

  /**
   * Multi-row INSERT in chunks that fit the store's parameter limit and, on MySQL, the bytes
   * the server accepts in one statement (values are inlined there); returns rows affected.
   */
  private async insertRows(
    manager: EntityManager,
    head: string,
    columns: readonly string[],
    rows: Row[],
    tail = "",
  ): Promise<number> {
    let affected = 0;
    const tuple = `(${placeholders(columns.length)})`;
    const bytes = this.dialect.kind === "mysql" ? this.statementBytes - STATEMENT_HEAD_BYTES : Infinity;
    for (const chunk of rowChunks(rows, this.rowsPerStatement(columns.length), bytes)) {
      const sql = `${head} (${columns.join(", ")}) VALUES ${Array(chunk.length).fill(tuple).join(", ")}${tail}`;
      const result = await manager.queryRunner!.query(sql, chunk.flat(), true);
      affected += result.affected ?? 0;
    }
    return affected;
  }

  /** `pk` by `k` for keys; a current (locking) read unless `suffix` says otherwise. */
  private async selectKeys(
    manager: EntityManager,
    head: string,
    keys: string[],
    suffix = this.currentRead,
  ): Promise<Map<string, number>> {
    const found = new Map<string, number>();
    for (const chunk of chunks(keys, this.rowsPerStatement(1))) {
      const rows: Array<{ pk: number | string; k: string }> = await manager.query(
        `${head} (${placeholders(chunk.length)})${suffix}`,
        chunk,
      );
      for (const row of rows) found.set(row.k, Number(row.pk));
    }
    return found;
  }

  /**
   * Suffix for the reads that look up the keys of rows just inserted or ignored as already
   * there. On MySQL/MariaDB a plain SELECT in a REPEATABLE READ transaction reads its
   * snapshot, which misses a row another writer committed after the snapshot was taken, the
   * very row the insert was ignored for (two ingests at once then failed with
   * "Column 'resource_pk' cannot be null"). A locking read sees the latest committed rows.
   */
  /** Reads rows this transaction may update: locked until commit on MySQL (SQLite has one writer). */
  private get lockedRead(): string {
    return this.dialect.kind === "mysql" ? " FOR UPDATE" : "";
  }

  private get currentRead(): string {
    return this.dialect.kind === "mysql" ? " LOCK IN SHARE MODE" : "";
  }

  private rowsPerStatement(columns: number): number {
    return Math.max(1, Math.min(1000, Math.floor(this.dialect.maxParameters / columns)));
  }
}

/** Room kept in a packet beyond the statement's rows: its head, tail and the protocol's framing. */
const PACKET_SPARE = 64 * 1024;
/** Bytes counted for a statement's text besides its rows' values (column list, upsert tail). */
const STATEMENT_HEAD_BYTES = 4 * 1024;
/** SQLite binds its parameters (nothing is inlined): a bound on a statement's memory only. */
const SQLITE_STATEMENT_BYTES = 256 * 1024 * 1024;

/**
 * An entity's columns as the writer inserts them (every column but a generated key), from the
 * same metadata the read side hydrates with, and a row of them from an object whose properties
 * carry the entity's property names: a column can be neither forgotten nor misplaced.
 */
class ColumnList {
  readonly table: string;
  readonly names: string[];
  private readonly properties: string[];
  private readonly converters: Array<(value: unknown) => unknown>;

  constructor(metadata: EntityMetadata, d: Dialect) {
    this.table = metadata.tableName;
    const columns = metadata.columns.filter((column) => !column.isGenerated);
    this.names = columns.map((column) => column.databaseName);
    this.properties = columns.map((column) => column.propertyName);
    this.converters = columns.map((column) => {
      switch (String(column.type)) {
        case "datetime":
          return (value) => (value === null ? null : d.time(value as Date));
        case "boolean":
          return (value) => d.bool(value as boolean | null);
        case "json":
          return (value) => (value === null ? null : JSON.stringify(value));
        default:
          return (value) => value;
      }
    });
  }

  /**
   * The row of `source`; `extra` gives columns `source` does not hold (keys it refers to, text
   * already serialised), taken as they are stored.
   */
  row(source: object, extra?: Record<string, unknown>): Row {
    const values = source as Record<string, unknown>;
    return this.properties.map((property, index) => {
      if (extra !== undefined && property in extra) return extra[property];
      const value = values[property];
      if (value === undefined) throw new Error(`the writer has no value for ${this.names[index]} (${property})`);
      return this.converters[index](value);
    });
  }
}

/**
 * How many bytes a value takes inlined in a MySQL statement, at most: mysql2 escapes
 * `\0 \b \t \n \r \x1a " ' \\` with a backslash. Short strings are bounded by twice their UTF-8
 * length (no scan); long ones are counted exactly, so that a large event is not refused for
 * an estimate.
 */
function sqlBytes(value: unknown): number {
  if (typeof value === "string") {
    const utf8 = Buffer.byteLength(value);
    if (value.length < 64 * 1024) return 2 * utf8 + 2;
    let escaped = 0;
    for (let i = 0; i < value.length; i++) if (ESCAPED.has(value.charCodeAt(i))) escaped++;
    return utf8 + escaped + 2;
  }
  // Numbers, booleans, NULL and times ('2021-07-29 09:23:58.000'), with their comma.
  return 32;
}

/** The characters mysql2 escapes in a string: NUL, backspace, tab, newline, CR, ^Z, quotes, backslash. */
const ESCAPED = new Set([0, 8, 9, 10, 13, 26, 34, 39, 92]);

function rowBytes(row: Row): number {
  let bytes = 4;
  for (const value of row) bytes += sqlBytes(value);
  return bytes;
}

/** One event's mention of an order: whose it would be, since when, and whether it bought it. */
export interface OrderMention {
  orderId: string;
  accountId: string | null;
  createdAt: Date;
  purchasePk: number | null;
}

/**
 * Which of two mentions of an order owns it: a purchase before any other mention, then the
 * earlier of two mentions with an account (the same rule as resources' owners), ties by
 * account ID, then by purchase event. Negative when `a` comes first.
 */
export function orderOwnerFirst(a: OrderMention, b: OrderMention): number {
  if ((a.purchasePk === null) !== (b.purchasePk === null)) return a.purchasePk === null ? 1 : -1;
  const owners = compareOwners(
    { accountId: a.accountId, time: a.createdAt },
    { accountId: b.accountId, time: b.createdAt },
  );
  if (owners !== 0) return owners;
  return (a.purchasePk ?? 0) - (b.purchasePk ?? 0);
}

/** Two mentions of one order in a batch: the one that owns it (`orderOwnerFirst`). */
export function mergeOrder(kept: OrderMention, next: OrderMention): OrderMention {
  return orderOwnerFirst(next, kept) < 0 ? next : kept;
}

/** True when `time` is earlier than `than`, where null is later than any time. */
function earlierTime(time: Date | null, than: Date | null): boolean {
  return time !== null && (than === null || time < than);
}

function resourceKey(ref: ResourceRef): string {
  return `${ref.type}\u0000${ref.resourceId}`;
}

function* chunks<T>(items: readonly T[], size: number): Generator<T[]> {
  for (let start = 0; start < items.length; start += size) yield items.slice(start, start + size);
}

/** Runs of at most `size` rows and, when `bytes` is finite, at most that many bytes of values. */
function* rowChunks(rows: Row[], size: number, bytes: number): Generator<Row[]> {
  if (bytes === Infinity) return yield* chunks(rows, size);
  let chunk: Row[] = [];
  let taken = 0;
  for (const row of rows) {
    const cost = rowBytes(row);
    if (chunk.length > 0 && (chunk.length >= size || taken + cost > bytes)) {
      yield chunk;
      chunk = [];
      taken = 0;
    }
    chunk.push(row);
    taken += cost;
  }
  if (chunk.length > 0) yield chunk;
}

/** Items unique by key, in first-seen order; `merge` combines a repeat into the kept one. */
function uniqueBy<T>(items: readonly T[], key: (item: T) => string, merge?: (kept: T, next: T) => T): T[] {
  const byKey = new Map<string, T>();
  for (const item of items) {
    const k = key(item);
    const kept = byKey.get(k);
    byKey.set(k, kept === undefined ? item : merge ? merge(kept, item) : kept);
  }
  return [...byKey.values()];
}
