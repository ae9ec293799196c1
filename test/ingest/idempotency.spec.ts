import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ingest, type IngestSummary } from "../../src/ingest/ingest";
import { samples } from "../support/delivery";
import { arraySource, dataOf, openTestStore, type TestStore } from "../support/harness";
import { storesUnderTest } from "../support/stores";
import {
  countRows,
  GRAPH_TABLES,
  snapshotGraphTables,
  snapshotTablesWithKeys,
  type StoredRow,
  type TablesSnapshot,
} from "../support/tables";

/** A fixed permutation (seeded), different from file order and from its reverse. */
function shuffled<T>(items: readonly T[], seed = 7): T[] {
  const out = [...items];
  let state = seed;
  for (let i = out.length - 1; i > 0; i--) {
    state = (state * 1103515245 + 12345) % 2147483648;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

function expectNothingNew(summary: IngestSummary, delivered: number): void {
  expect(summary.read).toBe(delivered);
  expect(summary.inserted).toBe(0);
  expect(summary.duplicates).toBe(delivered);
  expect(summary.rejected).toBe(0);
}

describe.each(storesUnderTest())("ingesting the same events again changes nothing ($kind)", ({ kind, available }) => {
  let store: TestStore;
  let first: IngestSummary;
  let reference: Record<string, StoredRow[]>;

  beforeAll(async () => {
    if (!available) return;
    store = await openTestStore(kind);
    first = await store.ingestEvents(samples);
    reference = await snapshotTablesWithKeys(store.dataSource);
  });
  afterAll(async () => store?.close());

  it.skipIf(!available)("the first ingest stores every sample and fills every table", async () => {
    expect(first.read).toBe(samples.length);
    expect(first.inserted).toBe(samples.length);
    expect(first.duplicates).toBe(0);
    expect(first.rejected).toBe(0);
    for (const table of GRAPH_TABLES) expect(reference[table].length, table).toBeGreaterThan(0);
    expect(reference.events).toHaveLength(samples.length);
    expect(reference.event_payloads).toHaveLength(samples.length);
    expect(dataOf(await store.graphql("{ events { totalCount } }")).events.totalCount).toBe(samples.length);
  });

  it.skipIf(!available)("the same events, in the same order", async () => {
    expectNothingNew(await store.ingestEvents(samples), samples.length);
    expect(await snapshotTablesWithKeys(store.dataSource)).toEqual(reference);
  });

  it.skipIf(!available)("the same events, reversed and shuffled", async () => {
    expectNothingNew(await store.ingestEvents([...samples].reverse()), samples.length);
    expect(await snapshotTablesWithKeys(store.dataSource)).toEqual(reference);
    expectNothingNew(await store.ingestEvents(shuffled(samples)), samples.length);
    expect(await snapshotTablesWithKeys(store.dataSource)).toEqual(reference);
  });

  it.skipIf(!available)("the same events, in two overlapping halves", async () => {
    const firstHalf = samples.slice(0, 40);
    const secondHalf = samples.slice(27);
    expectNothingNew(await store.ingestEvents(firstHalf), firstHalf.length);
    expectNothingNew(await store.ingestEvents(secondHalf), secondHalf.length);
    expect(await snapshotTablesWithKeys(store.dataSource)).toEqual(reference);
  });

  it.skipIf(!available)("the same events, in batches of 7", async () => {
    const summary = await ingest(store.dataSource, [arraySource(shuffled(samples, 11))], { batchSize: 7 });
    expectNothingNew(summary, samples.length);
    expect(await snapshotTablesWithKeys(store.dataSource)).toEqual(reference);
  });

  it.skipIf(!available)("the same events, from two sources in one run", async () => {
    const summary = await ingest(
      store.dataSource,
      [arraySource(samples.slice(0, 30), "a.json"), arraySource(samples.slice(20), "b.json")],
      { batchSize: 25 },
    );
    expect(summary.files).toBe(2);
    expectNothingNew(summary, 30 + samples.length - 20);
    expect(await snapshotTablesWithKeys(store.dataSource)).toEqual(reference);
  });
});

describe.each(storesUnderTest())("the stored graph does not depend on ingest order ($kind)", ({ kind, available }) => {
  let reference: TablesSnapshot;

  /** Ingests with `fill` into a fresh store; returns its snapshot by natural keys. */
  async function filled(fill: (store: TestStore) => Promise<void>): Promise<TablesSnapshot> {
    const store = await openTestStore(kind);
    try {
      await fill(store);
      return await snapshotGraphTables(store.dataSource);
    } finally {
      await store.close();
    }
  }

  beforeAll(async () => {
    if (!available) return;
    reference = await filled(async (store) => {
      await store.ingestEvents(samples);
    });
  });

  it.skipIf(!available)("reversed, into a fresh store", async () => {
    expect(
      await filled(async (store) => {
        const summary = await store.ingestEvents([...samples].reverse());
        expect(summary.inserted).toBe(samples.length);
      }),
    ).toEqual(reference);
  });

  it.skipIf(!available)("shuffled, in batches of 7, into a fresh store", async () => {
    expect(
      await filled(async (store) => {
        const summary = await ingest(store.dataSource, [arraySource(shuffled(samples, 3))], { batchSize: 7 });
        expect(summary.inserted).toBe(samples.length);
        expect(summary.duplicates).toBe(0);
      }),
    ).toEqual(reference);
  });

  it.skipIf(!available)("in two overlapping halves, the later half first, into a fresh store", async () => {
    expect(
      await filled(async (store) => {
        const later = await store.ingestEvents(samples.slice(27));
        expect(later.inserted).toBe(samples.length - 27);
        const earlier = await store.ingestEvents(samples.slice(0, 40));
        expect(earlier.inserted).toBe(27);
        expect(earlier.duplicates).toBe(13);
      }),
    ).toEqual(reference);
  });
});

/** A small event builder for the targeted cases below. */
function renewal(eventId: string, eventTime: string, orderId: string, resourceId: string, config?: object) {
  return {
    eventId,
    eventTime,
    eventName: "Renew",
    eventType: "AliyunServiceEvent",
    serviceName: "Ecs",
    userIdentity: { type: "system" },
    userAgent: "usercenter2.aliyun.com/renew/auto",
    recipientAccountId: "500000000000001",
    referencedResources: { "ACS::ECS::Instance": [resourceId] },
    additionalEventData: { [orderId]: config ? { resourceId, articleConfig: config } : { resourceId } },
  };
}

function purchase(
  eventId: string,
  eventTime: string,
  orderId: string,
  resourceId: string,
  accountId = "500000000000001",
) {
  return {
    eventId,
    eventTime,
    eventName: "Create",
    eventType: "ConsoleOperation",
    serviceName: "Ecs",
    userIdentity: { type: "root-account", accountId, principalId: accountId, userName: "root" },
    referencedResources: { "ACS::ECS::Instance": [resourceId] },
    additionalEventData: { orderIds: orderId, [orderId]: { resourceId, articleConfig: { vm_cpu: "4" } } },
  };
}

function orderQuery(eventId: string, eventTime: string, orderId: string, accountId = "500000000000001") {
  return {
    eventId,
    eventTime,
    eventName: "GetOrderDetail",
    eventType: "ApiCall",
    serviceName: "BssOpenApi",
    userIdentity: { type: "ram-user", accountId, principalId: "2000", userName: "bob" },
    requestParameters: { OrderId: orderId },
  };
}

/** Order `orderId` as the GraphQL API returns it, with `fields` selected. */
async function orderOf(store: TestStore, orderId: string, fields: string) {
  return dataOf(await store.graphql(`query($id: ID!) { order(orderId: $id) { ${fields} } }`, { id: orderId })).order;
}

describe.each(storesUnderTest())("duplicates and later deliveries ($kind)", ({ kind, available }) => {
  let store: TestStore;
  beforeAll(async () => {
    if (available) store = await openTestStore(kind);
  });
  afterAll(async () => store?.close());

  const order = (orderId: string) =>
    orderOf(
      store,
      orderId,
      `orderId createdAt accountId purchaseEvent { eventId }
      items { articleConfig resource { type resourceId } }
      events(first: 50) { totalCount }`,
    );

  it.skipIf(!available)("a duplicate inside one batch is stored and counted once", async () => {
    const a = samples[0];
    const b = samples[1];
    const summary = await store.ingestEvents([a, b, a, structuredClone(a)]);
    expect(summary.read).toBe(4);
    expect(summary.inserted).toBe(2);
    expect(summary.duplicates).toBe(2);
    const [row] = await store.dataSource.query("SELECT COUNT(*) AS n FROM events WHERE event_id = ?", [a.eventId]);
    expect(Number(row.n)).toBe(1);
    expect(await countRows(store.dataSource, "events")).toBe(2);
    expect(await countRows(store.dataSource, "event_payloads")).toBe(2);
    expect(await countRows(store.dataSource, "event_orders")).toBe(1);
    expect(await countRows(store.dataSource, "order_items")).toBe(1);
    expect((await order("2105464****")).events.totalCount).toBe(1);

    // Across batches too: the repeat lands in a batch of its own.
    const again = await ingest(store.dataSource, [arraySource([samples[2], a, samples[2]])], { batchSize: 2 });
    expect(again.inserted).toBe(1);
    expect(again.duplicates).toBe(2);
    expect(await countRows(store.dataSource, "events")).toBe(3);
  });

  it.skipIf(!available)("a later delivery adds the item configuration an earlier one lacked", async () => {
    await store.ingestEvents([renewal("renew-noconfig-1", "2021-09-08T00:10:23Z", "9001", "i-late0001")]);
    let found = await order("9001");
    expect(found.items).toEqual([
      { articleConfig: null, resource: { type: "ACS::ECS::Instance", resourceId: "i-late0001" } },
    ]);

    const summary = await store.ingestEvents([
      renewal("renew-config-1", "2021-09-08T00:10:24Z", "9001", "i-late0001", { vm_cpu: "8" }),
    ]);
    expect(summary.inserted).toBe(1);
    found = await order("9001");
    expect(found.items).toEqual([
      { articleConfig: { vm_cpu: "8" }, resource: { type: "ACS::ECS::Instance", resourceId: "i-late0001" } },
    ]);
    expect(found.events.totalCount).toBe(2);
  });

  it.skipIf(!available)("a later delivery without the configuration never loses it", async () => {
    await store.ingestEvents([
      renewal("renew-config-2", "2021-09-08T00:10:23Z", "9002", "i-late0002", { vm_cpu: "8" }),
    ]);
    const expected = [
      { articleConfig: { vm_cpu: "8" }, resource: { type: "ACS::ECS::Instance", resourceId: "i-late0002" } },
    ];
    const summary = await store.ingestEvents([
      renewal("renew-noconfig-2", "2021-09-08T00:10:24Z", "9002", "i-late0002"),
    ]);
    expect(summary.inserted).toBe(1);
    let found = await order("9002");
    expect(found.items).toEqual(expected);
    expect(found.events.totalCount).toBe(2);
    // A re-delivery of the unconfigured event (a duplicate now) loses nothing either.
    await store.ingestEvents([renewal("renew-noconfig-2", "2021-09-08T00:10:24Z", "9002", "i-late0002")]);
    found = await order("9002");
    expect(found.items).toEqual(expected);
    expect(found.events.totalCount).toBe(2);
  });

  it.skipIf(!available)("within one batch, the delivery that knows the configuration wins", async () => {
    await store.ingestEvents([
      renewal("renew-noconfig-3", "2021-09-08T00:10:23Z", "9003", "i-late0003"),
      renewal("renew-config-3", "2021-09-08T00:10:24Z", "9003", "i-late0003", { vm_cpu: "16" }),
      renewal("renew-noconfig-3b", "2021-09-08T00:10:25Z", "9003", "i-late0003"),
    ]);
    expect((await order("9003")).items).toEqual([
      { articleConfig: { vm_cpu: "16" }, resource: { type: "ACS::ECS::Instance", resourceId: "i-late0003" } },
    ]);
  });

  it.skipIf(!available)(
    "a re-delivery of one event that knows more adds the same, in one batch or in two",
    async () => {
      // The same eventId twice: the second copy has the configuration and one more resource.
      const copies = (n: string) => {
        const sparse = renewal(`redelivered-${n}`, "2021-09-08T00:10:23Z", n, `i-redeliv${n}`);
        const rich = {
          ...renewal(`redelivered-${n}`, "2021-09-08T00:10:23Z", n, `i-redeliv${n}`, { vm_cpu: "2" }),
          referencedResources: { "ACS::ECS::Instance": [`i-redeliv${n}`], "ACS::ECS::Disk": [`d-redeliv${n}`] },
        };
        return [sparse, rich];
      };
      const oneBatch = await ingest(store.dataSource, [arraySource(copies("9004"))]);
      const twoBatches = await ingest(store.dataSource, [arraySource(copies("9005"))], { batchSize: 1 });
      for (const summary of [oneBatch, twoBatches]) {
        expect(summary.inserted).toBe(1);
        expect(summary.duplicates).toBe(1);
      }
      for (const n of ["9004", "9005"]) {
        expect((await order(n)).items, `order ${n}`).toEqual([
          { articleConfig: { vm_cpu: "2" }, resource: { type: "ACS::ECS::Instance", resourceId: `i-redeliv${n}` } },
        ]);
        const stored = dataOf(
          await store.graphql(`query($id: ID!) { event(eventId: $id) { referencedResources { resourceId } } }`, {
            id: `redelivered-${n}`,
          }),
        ).event;
        expect(stored.referencedResources.map((r: { resourceId: string }) => r.resourceId).sort()).toEqual([
          `d-redeliv${n}`,
          `i-redeliv${n}`,
        ]);
      }
    },
  );
});

describe.each(storesUnderTest())("first-seen times do not depend on ingest order ($kind)", ({ kind, available }) => {
  let store: TestStore;
  beforeAll(async () => {
    if (available) store = await openTestStore(kind);
  });
  afterAll(async () => store?.close());

  const order = (orderId: string) => orderOf(store, orderId, "createdAt accountId purchaseEvent { eventId }");
  const PURCHASE_TIME = "2021-08-02T06:30:17.000Z";

  it.skipIf(!available)("an order's createdAt is its purchase time even when a later mention came first", async () => {
    await store.ingestEvents([orderQuery("later-9101", "2021-08-02T07:30:00Z", "9101")]);
    expect((await order("9101")).createdAt).toBe("2021-08-02T07:30:00.000Z");
    await store.ingestEvents([purchase("buy-9101", "2021-08-02T06:30:17Z", "9101", "i-buy9101")]);
    expect(await order("9101")).toEqual({
      createdAt: PURCHASE_TIME,
      accountId: "500000000000001",
      purchaseEvent: { eventId: "buy-9101" },
    });
  });

  it.skipIf(!available)("the purchase time wins over an earlier (clock-skewed) mention, in any order", async () => {
    // Earlier mention first, then the purchase.
    await store.ingestEvents([orderQuery("early-9102", "2021-08-02T05:00:00Z", "9102")]);
    await store.ingestEvents([purchase("buy-9102", "2021-08-02T06:30:17Z", "9102", "i-buy9102")]);
    expect((await order("9102")).createdAt).toBe(PURCHASE_TIME);
    // The purchase first, then an earlier mention.
    await store.ingestEvents([purchase("buy-9103", "2021-08-02T06:30:17Z", "9103", "i-buy9103")]);
    await store.ingestEvents([orderQuery("early-9103", "2021-08-02T05:00:00Z", "9103")]);
    expect(await order("9103")).toEqual({
      createdAt: PURCHASE_TIME,
      accountId: "500000000000001",
      purchaseEvent: { eventId: "buy-9103" },
    });
    // All in one batch, the purchase in the middle.
    await store.ingestEvents([
      orderQuery("later-9104", "2021-08-02T07:30:00Z", "9104"),
      purchase("buy-9104", "2021-08-02T06:30:17Z", "9104", "i-buy9104"),
      orderQuery("early-9104", "2021-08-02T05:00:00Z", "9104"),
    ]);
    expect((await order("9104")).createdAt).toBe(PURCHASE_TIME);
    expect((await order("9104")).purchaseEvent).toEqual({ eventId: "buy-9104" });
  });

  it.skipIf(!available)("without a purchase, createdAt is the earliest mention's time", async () => {
    await store.ingestEvents([orderQuery("q-9201-b", "2021-08-12T01:31:40Z", "9201")]);
    await store.ingestEvents([orderQuery("q-9201-a", "2021-08-12T01:30:05Z", "9201")]);
    await store.ingestEvents([orderQuery("q-9201-c", "2021-08-12T01:32:18Z", "9201")]);
    expect(await order("9201")).toEqual({
      createdAt: "2021-08-12T01:30:05.000Z",
      accountId: "500000000000001",
      purchaseEvent: null,
    });
    await store.ingestEvents([
      orderQuery("q-9202-c", "2021-08-12T01:32:18Z", "9202"),
      orderQuery("q-9202-a", "2021-08-12T01:30:05Z", "9202"),
      orderQuery("q-9202-b", "2021-08-12T01:31:40Z", "9202"),
    ]);
    expect((await order("9202")).createdAt).toBe("2021-08-12T01:30:05.000Z");
  });

  it.skipIf(!available)(
    "an account's firstSeenAt is its earliest event's time, whatever the ingest order",
    async () => {
      const account = "600000000000001";
      const firstSeen = async () =>
        dataOf(await store.graphql(`query($id: ID!) { account(accountId: $id) { firstSeenAt } }`, { id: account }))
          .account.firstSeenAt;
      await store.ingestEvents([orderQuery("acct-b", "2021-08-05T00:00:00Z", "9301", account)]);
      expect(await firstSeen()).toBe("2021-08-05T00:00:00.000Z");
      await store.ingestEvents([orderQuery("acct-c", "2021-08-09T00:00:00Z", "9301", account)]);
      expect(await firstSeen()).toBe("2021-08-05T00:00:00.000Z");
      await store.ingestEvents([
        orderQuery("acct-d", "2021-08-07T00:00:00Z", "9302", account),
        orderQuery("acct-a", "2021-08-01T12:00:00Z", "9302", account),
      ]);
      expect(await firstSeen()).toBe("2021-08-01T12:00:00.000Z");
      // A re-delivery of the earliest event, and a later one, leave it there.
      await store.ingestEvents([
        orderQuery("acct-a", "2021-08-01T12:00:00Z", "9302", account),
        orderQuery("acct-e", "2021-08-20T00:00:00Z", "9302", account),
      ]);
      expect(await firstSeen()).toBe("2021-08-01T12:00:00.000Z");
    },
  );
});

/**
 * An object that one account may read shows no time or owner taken from another account's
 * events: an account's firstSeenAt is its own earliest event, and an order's account and
 * createdAt come from one mention (its purchase, else its earliest mention).
 */
describe.each(storesUnderTest())("owners and times from one account's events ($kind)", ({ kind, available }) => {
  let store: TestStore;
  beforeAll(async () => {
    if (available) store = await openTestStore(kind);
  });
  afterAll(async () => store?.close());

  const A = "700000000000001";
  const B = "700000000000002";
  const X = "700000000000009";
  const order = (orderId: string) => orderOf(store, orderId, "createdAt accountId purchaseEvent { eventId }");
  const account = async (accountId: string) =>
    dataOf(
      await store.graphql(`query($id: ID!) { account(accountId: $id) { accountId firstSeenAt } }`, { id: accountId }),
    ).account;
  /** An event of `owner` (its RAM user's) that names `recipient` as the recipient account. */
  const crossAccount = (eventId: string, eventTime: string, owner: string, recipient: string) => ({
    ...orderQuery(eventId, eventTime, "none", owner),
    requestParameters: {},
    recipientAccountId: recipient,
  });

  it.skipIf(!available)(
    "an account named only by another account's events has no firstSeenAt until an event of its own",
    async () => {
      await store.ingestEvents([crossAccount("x-named", "2021-07-01T00:00:00Z", A, X)]);
      expect(await account(X)).toEqual({ accountId: X, firstSeenAt: null });
      await store.ingestEvents([orderQuery("x-own-late", "2021-07-09T00:00:00Z", "9400", X)]);
      expect((await account(X)).firstSeenAt).toBe("2021-07-09T00:00:00.000Z");
      // A later mention by another account, even an earlier one, leaves it at its own event.
      await store.ingestEvents([crossAccount("x-named-early", "2021-06-01T00:00:00Z", B, X)]);
      expect((await account(X)).firstSeenAt).toBe("2021-07-09T00:00:00.000Z");
      await store.ingestEvents([orderQuery("x-own-early", "2021-07-05T00:00:00Z", "9400", X)]);
      expect((await account(X)).firstSeenAt).toBe("2021-07-05T00:00:00.000Z");
    },
  );

  it.skipIf(!available)(
    "an order is its purchase's: another account's mention gives neither owner nor time",
    async () => {
      // Mention by A first, the purchase by B later; then the other way round.
      await store.ingestEvents([orderQuery("a-9401", "2021-08-02T05:00:00Z", "9401", A)]);
      await store.ingestEvents([purchase("b-buy-9401", "2021-08-02T06:30:17Z", "9401", "i-9401", B)]);
      await store.ingestEvents([purchase("b-buy-9402", "2021-08-02T06:30:17Z", "9402", "i-9402", B)]);
      await store.ingestEvents([orderQuery("a-9402", "2021-08-02T05:00:00Z", "9402", A)]);
      for (const orderId of ["9401", "9402"]) {
        expect(await order(orderId)).toEqual({
          createdAt: "2021-08-02T06:30:17.000Z",
          accountId: B,
          purchaseEvent: { eventId: `b-buy-${orderId}` },
        });
      }
    },
  );

  it.skipIf(!available)(
    "without a purchase, the earliest mention gives both owner and time, in any order",
    async () => {
      await store.ingestEvents([orderQuery("a-9403", "2021-08-03T05:00:00Z", "9403", A)]);
      await store.ingestEvents([orderQuery("b-9403", "2021-08-03T04:00:00Z", "9403", B)]);
      await store.ingestEvents([
        orderQuery("b-9404", "2021-08-03T04:00:00Z", "9404", B),
        orderQuery("a-9404", "2021-08-03T05:00:00Z", "9404", A),
      ]);
      await store.ingestEvents([orderQuery("b-9405", "2021-08-03T04:00:00Z", "9405", B)]);
      await store.ingestEvents([orderQuery("a-9405", "2021-08-03T05:00:00Z", "9405", A)]);
      for (const orderId of ["9403", "9404", "9405"]) {
        expect(await order(orderId)).toEqual({
          createdAt: "2021-08-03T04:00:00.000Z",
          accountId: B,
          purchaseEvent: null,
        });
      }
    },
  );

  it.skipIf(!available)("the OwnTimes migration recomputes times and owners stored by the old rules", async () => {
    const expected = {
      x: await account(X),
      orders: await Promise.all(["9401", "9402", "9403"].map(order)),
    };
    const [last] = await store.dataSource.query("SELECT name FROM migrations ORDER BY id DESC LIMIT 1");
    expect(last.name).toMatch(/^OwnTimes/);
    await store.dataSource.undoLastMigration({ transaction: "each" });
    // What the old rules stored: the earliest mention's time, the first ingested mention's account.
    await store.dataSource.query("UPDATE accounts SET first_seen_at = ? WHERE account_id = ?", [
      "2021-06-01 00:00:00.000",
      X,
    ]);
    await store.dataSource.query(
      "UPDATE orders SET account_id = ?, created_at = ? WHERE order_id IN ('9401', '9403')",
      [A, "2021-08-02 05:00:00.000"],
    );
    expect((await account(X)).firstSeenAt).toBe("2021-06-01T00:00:00.000Z");
    expect((await order("9401")).accountId).toBe(A);
    await store.dataSource.runMigrations({ transaction: "each" });
    expect({ x: await account(X), orders: await Promise.all(["9401", "9402", "9403"].map(order)) }).toEqual(expected);
  });
});
