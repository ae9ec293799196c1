import DataLoader from "dataloader";
import type { DataSource } from "typeorm";
import { Account, Event, EventPayload, Order, OrderItem, ReferencedResource, UserIdentity } from "./entities";
import type { PageRequest } from "./db/keyset";
import type { ListSpec } from "./db/lists";
import { parentKey } from "./db/lists";
import { TenantScope } from "./db/scope";
import { Store, type CountsSpec, type Page, type StatementGuard } from "./db/store";
import { manyByKey, oneByKey } from "./loaders/order-by-keys";

export interface TopValue {
  key: string | null;
  count: number;
}

interface PageKey {
  entity: new () => unknown;
  spec: ListSpec;
  page: PageRequest;
  parent: unknown;
  /** Same list, same arguments: one statement serves every parent of the group. */
  group: string;
}

interface TopValuesKey {
  spec: CountsSpec;
  limit: number;
  parent: unknown;
  group: string;
}

interface CountKey {
  spec: ListSpec;
  parent: unknown;
  group: string;
}

/**
 * Everything a request needs, built once per request: its tenant scope, the Store that
 * applies it, and DataLoaders whose caches live exactly as long as the request.
 * Loader names say what they map: `<entity>By<Key>` or `<entities>By<Key>`.
 */
export class Context {
  readonly store: Store;
  /**
   * Aborted when the request's deadline passes, its client goes away or it reads too many rows
   * (the reason is the error to answer); null where nothing limits the request (tests, scripts).
   * The Store refuses statements once it is aborted; work that loops without the Store checks it.
   * Made when first asked for (src/server/deadline.ts).
   */
  get signal(): AbortSignal | null {
    return this.guard?.signal ?? null;
  }

  /** A list answers `nodes` items: counted against the request's limit (throws past it, or once the request is stopped). */
  answering(nodes: number): void {
    this.guard?.countNodes(nodes);
  }

  constructor(
    dataSource: DataSource,
    scope: TenantScope,
    private readonly guard: (StatementGuard & { readonly signal: AbortSignal }) | null = null,
  ) {
    this.store = new Store(dataSource, scope, guard);
  }

  readonly eventByPk = new DataLoader<number, Event | null>(async (pks) =>
    oneByKey(pks, await this.store.eventsByPks(pks), (event) => event.pk),
  );

  readonly eventByEventId = new DataLoader<string, Event | null>(async (ids) =>
    oneByKey(ids, this.prime(await this.store.eventsByEventIds(ids)), (event) => event.eventId),
  );

  readonly payloadByEventPk = new DataLoader<number, EventPayload | null>(async (pks) =>
    oneByKey(pks, await this.store.payloadsByEventPks(pks), (payload) => payload.eventPk),
  );

  readonly identityByPk = new DataLoader<number, UserIdentity | null>(async (pks) =>
    oneByKey(pks, await this.store.identitiesByPks(pks), (identity) => identity.pk),
  );

  readonly identityByKey = new DataLoader<string, UserIdentity | null>(async (keys) =>
    oneByKey(keys, await this.store.identitiesByKeys(keys), (identity) => identity.identityKey),
  );

  readonly accountById = new DataLoader<string, Account | null>(async (ids) =>
    oneByKey(ids, await this.store.accountsByIds(ids), (account) => account.accountId),
  );

  readonly orderById = new DataLoader<string, Order | null>(async (ids) =>
    oneByKey(ids, await this.store.ordersByIds(ids), (order) => order.orderId),
  );

  readonly resourceByPk = new DataLoader<number, ReferencedResource | null>(async (pks) =>
    oneByKey(pks, await this.store.resourcesByPks(pks), (resource) => resource.pk),
  );

  readonly resourceByKey = new DataLoader<{ type: string; resourceId: string }, ReferencedResource | null, string>(
    async (keys) =>
      oneByKey(
        keys.map((key) => `${key.type}\u0000${key.resourceId}`),
        await this.store.resourcesByKeys(keys),
        (resource) => `${resource.type}\u0000${resource.resourceId}`,
      ),
    { cacheKeyFn: (key) => `${key.type}\u0000${key.resourceId}` },
  );

  readonly resourcesByEventPk = new DataLoader<number, ReferencedResource[]>(async (pks) =>
    manyByKey(pks, await this.store.resourcesOfEvents(pks)),
  );

  readonly ordersByEventPk = new DataLoader<number, Order[]>(async (pks) =>
    manyByKey(pks, await this.store.ordersOfEvents(pks)),
  );

  readonly ordersByResourcePk = new DataLoader<number, Order[]>(async (pks) =>
    manyByKey(pks, await this.store.ordersOfResources(pks)),
  );

  /** Items by order, each with the resource read with it (also primed for `resourceByPk`). */
  readonly itemsByOrderId = new DataLoader<string, OrderItem[]>(async (ids) => {
    const items = this.primeResources(await this.store.itemsOfOrders(ids));
    return manyByKey(
      ids,
      items.map((item) => [item.orderId, item] as const),
    );
  });

  private readonly pageLoader = groupedLoader<PageKey, Page<unknown>>((first, parents) =>
    this.store.pages(first.entity, first.spec, parents, first.page),
  );

  private readonly countLoader = groupedLoader<CountKey, number>((first, parents) =>
    this.store.counts(first.spec, parents),
  );

  private readonly topValuesLoader = groupedLoader<TopValuesKey, TopValue[]>((first, parents) =>
    this.store.topValues(first.spec, parents, first.limit),
  );

  /** The most frequent values of an event field in a list (Store.eventCounts), batched across parents. */
  topValues(spec: CountsSpec, limit: number, parent: unknown = null) {
    return this.topValuesLoader.load({ spec, limit, parent, group: `${specKey(spec)} ${limit}` });
  }

  /** One page of a list for one parent (null for a root list), batched with its siblings. */
  async page<T>(entity: new () => T, spec: ListSpec, page: PageRequest, parent: unknown = null): Promise<Page<T>> {
    const group = `${entity.name} ${specKey(spec)} ${pageKey(page)}`;
    const result = (await this.pageLoader.load({ entity, spec, page, parent, group })) as Page<T>;
    if (entity === (Event as unknown) && !spec.partial) this.prime(result.nodes as Event[]);
    if (entity === (Order as unknown) && spec.children) {
      for (const order of result.nodes as Order[]) {
        this.itemsByOrderId.prime(order.orderId, this.primeResources(order.items!));
      }
    }
    return result;
  }

  /** The number of rows in a list for one parent, cursors ignored, batched likewise. */
  count(spec: ListSpec, parent: unknown = null): Promise<number> {
    return this.countLoader.load({ spec, parent, group: specKey(spec) });
  }

  /** The resources read with order items are cached for `resourceByPk`. */
  private primeResources(items: OrderItem[]): OrderItem[] {
    for (const item of items) if (item.resource !== undefined) this.resourceByPk.prime(item.resourcePk, item.resource);
    return items;
  }

  /** Events read by a list are cached for the lookups that follow (node, event). */
  private prime(events: Event[]): Event[] {
    for (const event of events) {
      this.eventByPk.prime(event.pk, event);
      this.eventByEventId.prime(event.eventId, event);
    }
    return events;
  }
}

const specKeys = new WeakMap<ListSpec | CountsSpec, string>();

/** A list's identity as a string, computed once per spec object (a request asks for it per parent). */
function specKey(spec: ListSpec | CountsSpec): string {
  let key = specKeys.get(spec);
  if (key === undefined) {
    key = ("key" in spec && spec.key) || JSON.stringify(spec);
    specKeys.set(spec, key);
  }
  return key;
}

/** A page request as a string: size and way, and the cursors' values when there are any. */
function pageKey(page: PageRequest): string {
  const way = `${page.size}${page.backward ? "<" : ">"}`;
  return page.after === null && page.before === null ? way : `${way} ${JSON.stringify([page.after, page.before])}`;
}

interface GroupedKey {
  /** Keys of one group share everything but the parent: one statement answers them all. */
  group: string;
  parent: unknown;
}

function cacheKey(key: GroupedKey): string {
  return `${key.group}\u0000${parentKey(key.parent)}`;
}

/**
 * A DataLoader for per-parent reads: keys are grouped by `group`, and `run` answers a
 * whole group at once (given its first key and every parent), keyed by parentKey().
 */
function groupedLoader<K extends GroupedKey, V>(
  run: (first: K, parents: unknown[]) => Promise<Map<string, V>>,
): DataLoader<K, V, string> {
  return new DataLoader<K, V, string>(
    async (keys) => {
      const groups = new Map<string, K[]>();
      for (const key of keys) {
        const members = groups.get(key.group);
        if (members) members.push(key);
        else groups.set(key.group, [key]);
      }
      const results = new Map<string, V>();
      await Promise.all(
        [...groups].map(async ([group, members]) => {
          const answers = await run(
            members[0],
            members.map((member) => member.parent),
          );
          for (const [parent, value] of answers) results.set(`${group}\u0000${parent}`, value);
        }),
      );
      return keys.map((key) => {
        const value = results.get(cacheKey(key));
        return value === undefined ? new Error(`no result for ${cacheKey(key)}`) : value;
      });
    },
    { cacheKeyFn: cacheKey },
  );
}
