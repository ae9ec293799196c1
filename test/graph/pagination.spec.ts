import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildEvent, ramUser, rootAccount, type ActionTrailEvent } from "../support/event-builder";
import { dataOf, openTestStore, type GraphQLResponse, type TestStore } from "../support/harness";
import { storesUnderTest } from "../support/stores";

/**
 * Relay keyset pagination over every kind of connection. The dataset has 60 events in 9
 * distinct seconds that arrive interleaved (not in time order), so most pages cut through a
 * group of events with the same eventTime: the tie must be broken by arrival order.
 */

const ACCOUNT_A = "151266687691****";
const ACCOUNT_B = "176618589410****";
const ACCOUNT_C = "133592699956****";
const SHARED_INSTANCE = "i-bp1shared0000****";
const SHARED_TYPE = "ACS::ECS::Instance";
const T0 = Date.parse("2021-09-01T10:00:00Z");
const COUNT = 60;

interface Expected {
  eventId: string;
  time: number;
  arrival: number;
  accountId: string;
  /** The requester, as JSON (one identity per distinct userIdentity). */
  identity: string;
  resources: Array<{ type: string; resourceId: string }>;
  /** The order this event placed (a buy-page `Create`). */
  orderId: string | null;
  /** Every order the event names (placed or queried). */
  orderIds: string[];
}

/**
 * Time of event `i`: 9 seconds, interleaved, groups of 4 to 12 events (so that pages of 5
 * and 7 end inside a group); a few events carry milliseconds.
 */
function timeOf(i: number): number {
  const second = i % 5 === 0 ? 8 : (i * 5) % 8;
  return T0 + second * 1000 + (i % 13 === 0 && i % 5 !== 0 ? 250 : 0);
}

function accountOf(i: number): string {
  if (i % 10 === 5) return ACCOUNT_C;
  return i % 4 === 3 ? ACCOUNT_B : ACCOUNT_A;
}

function isPurchase(i: number): boolean {
  return i % 6 === 0 || i === 3 || i === 7;
}

/** Order IDs; one is masked (`*` sorts before digits), placed in the same second as another. */
const orderIdOf = (i: number) => (i === 30 ? "2105464****" : `2105464${String(i).padStart(4, "0")}`);

/** Events that look up the first order (account A's), besides its purchase. */
function isOrderLookup(i: number): boolean {
  return i % 12 === 4 || i % 12 === 8;
}

function dataset(): { events: ActionTrailEvent[]; expected: Expected[] } {
  const events: ActionTrailEvent[] = [];
  const expected: Expected[] = [];
  for (let i = 0; i < COUNT; i++) {
    const accountId = accountOf(i);
    const userIdentity = i % 3 === 0 ? rootAccount(accountId) : ramUser(i % 2 ? "alice" : "bob", accountId);
    const resources = isOrderLookup(i)
      ? []
      : i % 2 === 0
        ? [{ type: SHARED_TYPE, resourceId: SHARED_INSTANCE }]
        : [{ type: "ACS::ECS::Disk", resourceId: `d-bp1disk000${i % 5}****` }];
    const orderId = isPurchase(i) ? orderIdOf(i) : null;
    const referencedResources: Record<string, string[]> = {};
    for (const r of resources) referencedResources[r.type] = [r.resourceId];
    let kind: Record<string, unknown> = { referencedResources };
    if (orderId) {
      kind = {
        eventName: "Create",
        eventType: "ConsoleOperation",
        eventRW: "Write",
        referencedResources,
        additionalEventData: { orderIds: orderId },
      };
    } else if (isOrderLookup(i)) {
      kind = {
        eventName: "GetOrderDetail",
        eventSource: "business.aliyuncs.com",
        serviceName: "BssOpenApi",
        apiVersion: "2017-12-14",
        requestParameters: { OrderId: orderIdOf(0) },
      };
    }
    const event = buildEvent({ eventTime: new Date(timeOf(i)), userIdentity, recipientAccountId: accountId, ...kind });
    events.push(event);
    expected.push({
      eventId: event.eventId,
      time: timeOf(i),
      arrival: i,
      accountId,
      identity: JSON.stringify(userIdentity),
      resources,
      orderId,
      orderIds: orderId ? [orderId] : isOrderLookup(i) ? [orderIdOf(0)] : [],
    });
  }
  return { events, expected };
}

/** Newest first; the same time: the later arrival first (the order reversed is ASC). */
function desc(list: readonly Expected[]): Expected[] {
  return [...list].sort((a, b) => b.time - a.time || b.arrival - a.arrival);
}

const ids = (list: readonly Expected[]) => list.map((e) => e.eventId);

interface Conn {
  totalCount?: number;
  edges: Array<{ cursor: string; node: any }>;
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
}

type PageArgs = {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
};

type Fetch = (args: PageArgs) => Promise<Conn>;

const CONN = (fields: string) => `
  totalCount
  edges { cursor node { ${fields} } }
  pageInfo { hasNextPage hasPreviousPage startCursor endCursor }`;

const PAGE_VARS = "$first: Int, $after: String, $last: Int, $before: String";
const PAGE_ARGS = "first: $first, after: $after, last: $last, before: $before";

/**
 * Reads `size` pages one way to the end of the list, from `start` (a cursor) or the
 * beginning, checking every pageInfo on the way: forward with `first`/`after`, backward
 * with `last`/`before`. Returns the pages in the order they were read.
 */
async function walk(
  fetch: Fetch,
  size: number,
  direction: "forward" | "backward",
  start: string | null = null,
): Promise<Conn[]> {
  const forward = direction === "forward";
  /** Whether a page has more ahead (in the walk's direction) and behind it. */
  const ahead = (page: Conn) => (forward ? page.pageInfo.hasNextPage : page.pageInfo.hasPreviousPage);
  const behind = (page: Conn) => (forward ? page.pageInfo.hasPreviousPage : page.pageInfo.hasNextPage);
  const pages: Conn[] = [];
  let cursor: string | null = start;
  for (let guard = 0; guard < 200; guard++) {
    const page = await fetch(forward ? { first: size, after: cursor } : { last: size, before: cursor });
    pages.push(page);
    if (!ahead(page)) break;
    cursor = forward ? page.pageInfo.endCursor : page.pageInfo.startCursor;
    expect(cursor).not.toBeNull();
  }
  pages.forEach((page, index) => {
    const last = index === pages.length - 1;
    if (last) {
      expect(page.edges.length).toBeGreaterThan(0);
      expect(page.edges.length).toBeLessThanOrEqual(size);
    } else {
      expect(page.edges).toHaveLength(size);
    }
    expect(ahead(page)).toBe(!last);
    expect(behind(page)).toBe(index > 0 || start !== null);
    expect(page.pageInfo.startCursor).toBe(page.edges[0].cursor);
    expect(page.pageInfo.endCursor).toBe(page.edges[page.edges.length - 1].cursor);
  });
  return pages;
}

/** Reads `first: size` pages from the start (or after `start`) to the end. */
async function walkForward(
  fetch: Fetch,
  size: number,
  key: (node: any) => string,
  start: string | null = null,
): Promise<string[]> {
  const pages = await walk(fetch, size, "forward", start);
  return pages.flatMap((page) => page.edges.map((edge) => key(edge.node)));
}

/**
 * Reads `last: size` pages from the end to the start. Returns the items in the order they
 * were visited (the list reversed).
 */
async function walkBackward(fetch: Fetch, size: number, key: (node: any) => string): Promise<string[]> {
  const pages = await walk(fetch, size, "backward");
  return pages.flatMap((page) => page.edges.map((edge) => key(edge.node)).reverse());
}

function expectUserError(response: GraphQLResponse<any>, message: RegExp, field: string): void {
  expect(response.errors, JSON.stringify(response)).toBeDefined();
  expect(response.errors!.length).toBeGreaterThan(0);
  expect(response.errors![0].message).toMatch(message);
  expect(response.errors![0].extensions?.code).toBe("BAD_USER_INPUT");
  expect(response.data?.[field] ?? null).toBeNull();
}

const eventKey = (node: any) => node.eventId as string;

describe.each(storesUnderTest())("keyset pagination ($kind)", ({ kind, available }) => {
  let store: TestStore;
  const { events, expected } = dataset();
  const all = desc(expected);

  const EVENTS = `query(${PAGE_VARS}, $orderBy: EventOrder, $filter: EventFilter) {
    events(${PAGE_ARGS}, orderBy: $orderBy, filter: $filter) { ${CONN("eventId eventTime")} }
  }`;
  const eventsPage =
    (extra: Record<string, unknown> = {}, on: () => TestStore = () => store): Fetch =>
    async (args) =>
      dataOf(await on().graphql(EVENTS, { ...args, ...extra })).events;

  beforeAll(async () => {
    if (!available) return;
    store = await openTestStore(kind);
    // Three deliveries: arrival order is the order of the array.
    for (const start of [0, 20, 40]) {
      const summary = await store.ingestEvents(events.slice(start, start + 20));
      expect(summary.inserted).toBe(20);
    }
  });
  afterAll(async () => store?.close());

  it("has a dataset where many events share a second and arrive out of time order", () => {
    const perSecond = new Map<number, number>();
    for (const e of expected) perSecond.set(e.time, (perSecond.get(e.time) ?? 0) + 1);
    expect(Math.max(...perSecond.values())).toBeGreaterThanOrEqual(5);
    expect(perSecond.size).toBeLessThan(COUNT / 4);
    // Not simply arrival order reversed: the time order differs from the arrival order.
    expect(ids(all)).not.toEqual(ids([...expected].reverse()));
  });

  it.skipIf(!available)(
    "walks events(first: 7) to the end: each event once, newest first, ties by arrival",
    async () => {
      const visited = await walkForward(eventsPage(), 7, eventKey);
      expect(visited).toEqual(ids(all));
      expect(new Set(visited).size).toBe(COUNT);
    },
  );

  it.skipIf(!available)("reports the times it sorts by", async () => {
    const page = await eventsPage()({ first: 500 });
    const times = page.edges.map((edge) => Date.parse(edge.node.eventTime));
    expect(times).toEqual(all.map((e) => e.time));
  });

  it.skipIf(!available)("walks backwards with last: 7 from the end: the same sequence, reversed", async () => {
    const visited = await walkBackward(eventsPage(), 7, eventKey);
    expect(visited).toEqual(ids(all).reverse());
  });

  it.skipIf(!available)("orderBy ASC gives the reverse of DESC, forwards and backwards", async () => {
    const asc = eventsPage({ orderBy: { direction: "ASC" } });
    expect(await walkForward(asc, 7, eventKey)).toEqual(ids(all).reverse());
    expect(await walkBackward(asc, 7, eventKey)).toEqual(ids(all));
    const explicitDesc = eventsPage({ orderBy: { field: "EVENT_TIME", direction: "DESC" } });
    expect(await walkForward(explicitDesc, 11, eventKey)).toEqual(ids(all));
  });

  it.skipIf(!available)("pages from both ends meet: after and before the same cursor", async () => {
    const first = await eventsPage()({ first: 10 });
    const middle = first.pageInfo.endCursor;
    const next = await eventsPage()({ first: 10, after: middle });
    const previous = await eventsPage()({ last: 9, before: middle });
    expect(next.edges.map((e) => eventKey(e.node))).toEqual(ids(all.slice(10, 20)));
    expect(previous.edges.map((e) => eventKey(e.node))).toEqual(ids(all.slice(0, 9)));
    expect(previous.pageInfo.hasNextPage).toBe(true);
    expect(previous.pageInfo.hasPreviousPage).toBe(false);
    // A cursor identifies an edge: the same cursors come back for the same edges.
    expect(next.edges[0].cursor).not.toBe(middle);
    const again = await eventsPage()({ first: 10 });
    expect(again.edges.map((e) => e.cursor)).toEqual(first.edges.map((e) => e.cursor));
  });

  it.skipIf(!available)("first: 0 returns no edges; the default page size is 20", async () => {
    const none = await eventsPage()({ first: 0 });
    expect(none.edges).toEqual([]);
    expect(none.pageInfo.startCursor).toBeNull();
    expect(none.pageInfo.endCursor).toBeNull();
    expect(none.pageInfo.hasNextPage).toBe(true);
    expect(none.totalCount).toBe(COUNT);

    const byDefault = dataOf(
      await store.graphql(`{ events { edges { node { eventId } } pageInfo { hasNextPage hasPreviousPage } } }`),
    ).events;
    expect(byDefault.edges.map((e: any) => e.node.eventId)).toEqual(ids(all.slice(0, 20)));
    expect(byDefault.pageInfo).toEqual({ hasNextPage: true, hasPreviousPage: false });

    const accountDefault = dataOf(
      await store.graphql(`query($a: ID!) { account(accountId: $a) { events { nodes { eventId } } } }`, {
        a: ACCOUNT_A,
      }),
    ).account.events.nodes;
    expect(accountDefault.map(eventKey)).toEqual(ids(all.filter((e) => e.accountId === ACCOUNT_A).slice(0, 20)));

    const maximum = await eventsPage()({ first: 500 });
    expect(maximum.edges).toHaveLength(COUNT);
    expect(maximum.pageInfo.hasNextPage).toBe(false);
  });

  it.skipIf(!available)("rejects first: 501 and last: 501, mentioning the limit of 500", async () => {
    for (const args of [{ first: 501 }, { last: 501 }]) {
      expectUserError(await store.graphql(EVENTS, args), /500/, "events");
    }
    expectUserError(await store.graphql(EVENTS, { first: -1 }), /first/, "events");
    const nested = await store.graphql(
      `query($a: ID!) { account(accountId: $a) { events(first: 501) { nodes { eventId } } } }`,
      { a: ACCOUNT_A },
    );
    expectUserError(nested, /500/, "account");
    expectUserError(await store.graphql(`{ orders(last: 501) { nodes { orderId } } }`), /500/, "orders");
    expectUserError(await store.graphql(`{ accounts(first: 501) { nodes { accountId } } }`), /500/, "accounts");
  });

  it.skipIf(!available)("rejects first and last together", async () => {
    expectUserError(await store.graphql(EVENTS, { first: 5, last: 5 }), /first.*last|last.*first/, "events");
  });

  it.skipIf(!available)("rejects a garbage cursor and a cursor of another list or order", async () => {
    const eventCursor = (await eventsPage()({ first: 2 })).pageInfo.endCursor!;
    const ordersPage = dataOf(await store.graphql(`{ orders(first: 2) { pageInfo { endCursor } } }`)).orders;
    const orderCursor = ordersPage.pageInfo.endCursor as string;
    const accountCursor = dataOf(await store.graphql(`{ accounts(first: 1) { pageInfo { endCursor } } }`)).accounts
      .pageInfo.endCursor as string;
    expect(orderCursor).toBeTruthy();
    expect(accountCursor).toBeTruthy();

    const garbage = [
      "not a cursor",
      "",
      Buffer.from("[1,2,3]").toString("base64url"),
      Buffer.from(JSON.stringify(["evD", "yesterday", 1])).toString("base64url"),
      eventCursor.slice(0, -3),
    ];
    for (const cursor of garbage) {
      expectUserError(await store.graphql(EVENTS, { first: 3, after: cursor }), /cursor/, "events");
      expectUserError(await store.graphql(EVENTS, { last: 3, before: cursor }), /cursor/, "events");
    }
    // Another list's cursor.
    expectUserError(await store.graphql(EVENTS, { first: 3, after: orderCursor }), /cursor/, "events");
    expectUserError(await store.graphql(EVENTS, { first: 3, after: accountCursor }), /cursor/, "events");
    expectUserError(
      await store.graphql(`query($c: String) { orders(first: 2, after: $c) { nodes { orderId } } }`, {
        c: eventCursor,
      }),
      /cursor/,
      "orders",
    );
    expectUserError(
      await store.graphql(`query($c: String) { resources(first: 2, after: $c) { nodes { resourceId } } }`, {
        c: accountCursor,
      }),
      /cursor/,
      "resources",
    );
    // A DESC cursor in an ASC list, and the reverse.
    expectUserError(
      await store.graphql(EVENTS, { first: 3, after: eventCursor, orderBy: { direction: "ASC" } }),
      /cursor/,
      "events",
    );
    const ascCursor = (await eventsPage({ orderBy: { direction: "ASC" } })({ first: 2 })).pageInfo.endCursor;
    expectUserError(await store.graphql(EVENTS, { first: 3, before: ascCursor }), /cursor/, "events");
  });

  it.skipIf(!available)("totalCount counts the matching events and ignores the cursor", async () => {
    const filter = { accountIds: [ACCOUNT_B] };
    const matching = all.filter((e) => e.accountId === ACCOUNT_B);
    expect(matching.length).toBeGreaterThan(7);
    expect(matching.length).toBeLessThan(COUNT);
    const first = await eventsPage({ filter })({ first: 3 });
    expect(first.totalCount).toBe(matching.length);
    const second = await eventsPage({ filter })({ first: 3, after: first.pageInfo.endCursor });
    expect(second.totalCount).toBe(matching.length);
    expect(second.edges.map((e) => eventKey(e.node))).toEqual(ids(matching.slice(3, 6)));
    const backward = await eventsPage({ filter })({ last: 2, before: second.pageInfo.startCursor });
    expect(backward.totalCount).toBe(matching.length);
    expect(backward.edges.map((e) => eventKey(e.node))).toEqual(ids(matching.slice(1, 3)));
    const unfiltered = await eventsPage()({ first: 1, after: second.pageInfo.endCursor });
    expect(unfiltered.totalCount).toBe(COUNT);
  });

  it.skipIf(!available)("walks account(accountId) { events(first: 5, after) }, and backwards", async () => {
    const query = `query($a: ID!, ${PAGE_VARS}) { account(accountId: $a) { events(${PAGE_ARGS}) { ${CONN("eventId")} } } }`;
    for (const accountId of [ACCOUNT_A, ACCOUNT_B, ACCOUNT_C]) {
      const fetch: Fetch = async (args) => dataOf(await store.graphql(query, { a: accountId, ...args })).account.events;
      const own = all.filter((e) => e.accountId === accountId);
      expect(own.length).toBeGreaterThan(0);
      expect(own.length).toBeLessThan(COUNT);
      expect(await walkForward(fetch, 5, eventKey)).toEqual(ids(own));
      expect(await walkBackward(fetch, 5, eventKey)).toEqual(ids(own).reverse());
      expect((await fetch({ first: 1 })).totalCount).toBe(own.length);
    }
  });

  it.skipIf(!available)("walks resource(type, resourceId) { events(first: 5, after) }", async () => {
    const query = `query($t: String!, $r: ID!, ${PAGE_VARS}, $orderBy: EventOrder) {
      resource(type: $t, resourceId: $r) { events(${PAGE_ARGS}, orderBy: $orderBy) { ${CONN("eventId")} } }
    }`;
    const touching = all.filter((e) => e.resources.some((r) => r.resourceId === SHARED_INSTANCE));
    expect(touching.length).toBeGreaterThan(10);
    expect(touching.length).toBeLessThan(COUNT);
    const fetch =
      (orderBy?: unknown): Fetch =>
      async (args) =>
        dataOf(await store.graphql(query, { t: SHARED_TYPE, r: SHARED_INSTANCE, orderBy, ...args })).resource.events;
    expect(await walkForward(fetch(), 5, eventKey)).toEqual(ids(touching));
    expect(await walkBackward(fetch(), 5, eventKey)).toEqual(ids(touching).reverse());
    expect(await walkForward(fetch({ direction: "ASC" }), 5, eventKey)).toEqual(ids(touching).reverse());
    expect((await fetch()({ first: 1 })).totalCount).toBe(touching.length);
  });

  it.skipIf(!available)("walks order(orderId) { events(first: 3, after) }", async () => {
    const query = `query($o: ID!, ${PAGE_VARS}) { order(orderId: $o) { events(${PAGE_ARGS}) { ${CONN("eventId")} } } }`;
    const fetch: Fetch = async (args) => dataOf(await store.graphql(query, { o: orderIdOf(0), ...args })).order.events;
    const naming = all.filter((e) => e.orderIds.includes(orderIdOf(0)));
    expect(naming.length).toBeGreaterThan(6);
    expect(await walkForward(fetch, 3, eventKey)).toEqual(ids(naming));
    expect(await walkBackward(fetch, 3, eventKey)).toEqual(ids(naming).reverse());
    expect((await fetch({ first: 0 })).totalCount).toBe(naming.length);
  });

  it.skipIf(!available)("walks userIdentity { events(first: 4, after) }", async () => {
    const alice = all.find((e) => e.identity.includes('"alice"') && e.accountId === ACCOUNT_A)!;
    const query = `query($e: ID!, ${PAGE_VARS}) { event(eventId: $e) { userIdentity { userName events(${PAGE_ARGS}) { ${CONN("eventId")} } } } }`;
    const fetch: Fetch = async (args) => {
      const identity = dataOf(await store.graphql(query, { e: alice.eventId, ...args })).event.userIdentity;
      expect(identity.userName).toBe("alice");
      return identity.events;
    };
    const own = all.filter((e) => e.identity === alice.identity);
    expect(own.length).toBeGreaterThan(4);
    expect(await walkForward(fetch, 4, eventKey)).toEqual(ids(own));
    expect(await walkBackward(fetch, 4, eventKey)).toEqual(ids(own).reverse());
  });

  it.skipIf(!available)("walks account { orders(first: 2, after) }: newest first, ties by order ID", async () => {
    const query = `query($a: ID!, ${PAGE_VARS}) { account(accountId: $a) { orders(${PAGE_ARGS}) { ${CONN("orderId createdAt")} } } }`;
    for (const accountId of [ACCOUNT_A, ACCOUNT_B]) {
      const orders = expected
        .filter((e) => e.orderId && e.accountId === accountId)
        .sort((a, b) => b.time - a.time || (a.orderId! < b.orderId! ? 1 : -1));
      expect(orders.length).toBeGreaterThanOrEqual(2);
      const fetch: Fetch = async (args) => dataOf(await store.graphql(query, { a: accountId, ...args })).account.orders;
      const want = orders.map((e) => e.orderId);
      expect(await walkForward(fetch, 2, (node) => node.orderId)).toEqual(want);
      expect(await walkBackward(fetch, 2, (node) => node.orderId)).toEqual([...want].reverse());
      expect((await fetch({ first: 1 })).totalCount).toBe(orders.length);
    }
    // Account A's orders include several placed in the same second.
    const seconds = expected.filter((e) => e.orderId && e.accountId === ACCOUNT_A).map((e) => e.time);
    expect(new Set(seconds).size).toBeLessThan(seconds.length);
  });

  it.skipIf(!available)("walks the root orders list with first: 3", async () => {
    const query = `query(${PAGE_VARS}) { orders(${PAGE_ARGS}) { ${CONN("orderId")} } }`;
    const fetch: Fetch = async (args) => dataOf(await store.graphql(query, args)).orders;
    const want = expected
      .filter((e) => e.orderId)
      .sort((a, b) => b.time - a.time || (a.orderId! < b.orderId! ? 1 : -1))
      .map((e) => e.orderId);
    expect(await walkForward(fetch, 3, (node) => node.orderId)).toEqual(want);
  });

  it.skipIf(!available)("walks accounts(first: 1) by account ID", async () => {
    const query = `query(${PAGE_VARS}) { accounts(${PAGE_ARGS}) { ${CONN("accountId")} } }`;
    const fetch: Fetch = async (args) => dataOf(await store.graphql(query, args)).accounts;
    const want = [ACCOUNT_C, ACCOUNT_A, ACCOUNT_B]; // 1335... < 1512... < 1766...
    expect(await walkForward(fetch, 1, (node) => node.accountId)).toEqual(want);
    expect(await walkBackward(fetch, 1, (node) => node.accountId)).toEqual([...want].reverse());
    expect((await fetch({ first: 1 })).totalCount).toBe(3);
  });

  it.skipIf(!available)("walks resources(first: 2) in first-seen order", async () => {
    const query = `query(${PAGE_VARS}) { resources(${PAGE_ARGS}) { ${CONN("type resourceId")} } }`;
    const fetch: Fetch = async (args) => dataOf(await store.graphql(query, args)).resources;
    const firstSeen: string[] = [];
    for (const e of expected) {
      for (const r of e.resources) if (!firstSeen.includes(r.resourceId)) firstSeen.push(r.resourceId);
    }
    expect(firstSeen.length).toBeGreaterThan(4);
    const key = (node: any) => node.resourceId as string;
    expect(await walkForward(fetch, 2, key)).toEqual(firstSeen);
    expect(await walkBackward(fetch, 2, key)).toEqual([...firstSeen].reverse());
    expect((await fetch({ first: 0 })).totalCount).toBe(firstSeen.length);
  });

  it.skipIf(!available)("reads the first page of many parents in one list, each its own", async () => {
    const data = dataOf(
      await store.graphql(`{ accounts(first: 10) { nodes { accountId
        events(first: 4) { edges { node { eventId } } pageInfo { hasNextPage hasPreviousPage } }
        tail: events(last: 3) { edges { node { eventId } } pageInfo { hasNextPage hasPreviousPage } }
        orders(first: 3) { nodes { orderId } pageInfo { hasNextPage } }
      } } }`),
    );
    expect(data.accounts.nodes).toHaveLength(3);
    for (const account of data.accounts.nodes) {
      const own = ids(all.filter((e) => e.accountId === account.accountId));
      expect(account.events.edges.map((e: any) => e.node.eventId)).toEqual(own.slice(0, 4));
      expect(account.events.pageInfo).toEqual({ hasNextPage: own.length > 4, hasPreviousPage: false });
      expect(account.tail.edges.map((e: any) => e.node.eventId)).toEqual(own.slice(-3));
      expect(account.tail.pageInfo).toEqual({ hasNextPage: false, hasPreviousPage: own.length > 3 });
      const orders = expected
        .filter((e) => e.orderId && e.accountId === account.accountId)
        .sort((a, b) => b.time - a.time || (a.orderId! < b.orderId! ? 1 : -1))
        .map((e) => e.orderId);
      expect(account.orders.nodes.map((o: any) => o.orderId)).toEqual(orders.slice(0, 3));
      expect(account.orders.pageInfo.hasNextPage).toBe(orders.length > 3);
    }
  });

  it.skipIf(!available)(
    "reads the events of many resources in one list, each its own page, with and without a filter on events",
    async () => {
      const data = dataOf(
        await store.graphql(
          `query($b: String!) { resources(first: 50) { nodes { resourceId
          events(first: 3) { nodes { eventId } pageInfo { hasNextPage } }
          tail: events(last: 2) { nodes { eventId } pageInfo { hasPreviousPage } }
          oldest: events(first: 2, orderBy: { direction: ASC }) { nodes { eventId } }
          ofB: events(first: 2, filter: { accountIds: [$b] }) { nodes { eventId } totalCount }
        } } }`,
          { b: ACCOUNT_B },
        ),
      ).resources.nodes;
      const resourceIds = new Set(expected.flatMap((e) => e.resources.map((r) => r.resourceId)));
      expect(data.map((resource: any) => resource.resourceId).sort()).toEqual([...resourceIds].sort());
      let filterMatters = false;
      for (const resource of data) {
        const touching = all.filter((e) => e.resources.some((r) => r.resourceId === resource.resourceId));
        expect(touching.length).toBeGreaterThan(3);
        expect(resource.events.nodes.map(eventKey)).toEqual(ids(touching.slice(0, 3)));
        expect(resource.events.pageInfo.hasNextPage).toBe(true);
        expect(resource.tail.nodes.map(eventKey)).toEqual(ids(touching.slice(-2)));
        expect(resource.tail.pageInfo.hasPreviousPage).toBe(true);
        expect(resource.oldest.nodes.map(eventKey)).toEqual(ids(touching).reverse().slice(0, 2));
        // The filter applies before each page's limit: B's events, wherever they are in the list.
        const ofB = touching.filter((e) => e.accountId === ACCOUNT_B);
        expect(resource.ofB.nodes.map(eventKey)).toEqual(ids(ofB.slice(0, 2)));
        expect(resource.ofB.totalCount).toBe(ofB.length);
        // What a limit applied before the filter would answer: B's events among the first 3.
        const limitedFirst = touching.slice(0, 3).filter((e) => e.accountId === ACCOUNT_B);
        if (ofB.length >= 2 && limitedFirst.length < 2) filterMatters = true;
      }
      expect(filterMatters).toBe(true);
    },
  );

  it.skipIf(!available)("keeps cursors valid and pages stable while new events arrive", async () => {
    // A store of its own: this test adds events.
    const live = await openTestStore(kind);
    try {
      await live.ingestEvents(events);
      const fetch = eventsPage({}, () => live);
      const page1 = await fetch({ first: 7 });
      expect(page1.edges.map((e) => eventKey(e.node))).toEqual(ids(all.slice(0, 7)));
      const cursor = page1.pageInfo.endCursor!;
      const page2 = await fetch({ first: 7, after: cursor });
      expect(page2.edges.map((e) => eventKey(e.node))).toEqual(ids(all.slice(7, 14)));

      // Newer events (they sort before the cursor): the next page does not move.
      const newest = Math.max(...expected.map((e) => e.time));
      const arrivals: Expected[] = [];
      const arrive = (time: number) => {
        const event = buildEvent({ eventTime: new Date(time), userIdentity: rootAccount(ACCOUNT_A) });
        arrivals.push({
          eventId: event.eventId,
          time,
          arrival: COUNT + arrivals.length,
          accountId: ACCOUNT_A,
          identity: "",
          resources: [],
          orderId: null,
          orderIds: [],
        });
        return event;
      };
      await live.ingestEvents([arrive(newest + 1000), arrive(newest + 5000), arrive(newest)]);
      const page2Again = await fetch({ first: 7, after: cursor });
      expect(page2Again.edges).toEqual(page2.edges);
      expect(page2Again.pageInfo).toEqual(page2.pageInfo);

      // Events in the same second as the cursor's event (which is inside its group of
      // equal times), and in the seconds of events further on.
      const cursorEvent = all[6];
      expect(all[7].time).toBe(cursorEvent.time);
      const sameSecond = [cursorEvent.time, cursorEvent.time, all[12].time, all[30].time, all[COUNT - 1].time];
      await live.ingestEvents(sameSecond.map(arrive));

      const rest = await walkForward(fetch, 7, eventKey, cursor);
      const everything = desc([...expected, ...arrivals]);
      const at = everything.findIndex((e) => e.eventId === cursorEvent.eventId);
      expect(rest).toEqual(ids(everything.slice(at + 1)));
      // No original event skipped or repeated; the arrivals in the cursor's second sort
      // before it (they came later), those in older seconds after it.
      const original = new Set(ids(expected));
      expect(rest.filter((id) => original.has(id))).toEqual(ids(all.slice(7)));
      expect(new Set([...ids(all.slice(0, 7)), ...rest]).size).toBe(7 + rest.length);
      const arrived = new Set(rest.filter((id) => !original.has(id)));
      const olderArrivals = ids(arrivals.filter((e) => e.time < cursorEvent.time));
      expect(olderArrivals).toHaveLength(3);
      expect(arrived).toEqual(new Set(olderArrivals));
    } finally {
      await live.close();
    }
  });
});
