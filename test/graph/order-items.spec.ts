import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dataOf, openTestStore, type TestStore } from "../support/harness";
import { storesUnderTest } from "../support/stores";

const ACCOUNTS = ["120000000000001", "120000000000002"];
const ORDERS_PER_ACCOUNT = 9;

/**
 * Buy-page purchases with 0, 1 or 2 items each (order n buys n % 3 instances), three orders to
 * a second, so that pages cut through orders placed at the same time.
 */
function dataset(): unknown[] {
  const events: unknown[] = [];
  ACCOUNTS.forEach((accountId, a) => {
    const identity = { type: "root-account", accountId, principalId: accountId, userName: "root" };
    for (let n = 0; n < ORDERS_PER_ACCOUNT; n++) {
      const orderId = `4${a}00000${n}`;
      const instances = Array.from({ length: n % 3 }, (_, k) => `i-item${a}${n}${k}`);
      events.push({
        eventId: `purchase-${a}-${n}`,
        eventTime: new Date(Date.UTC(2024, 0, 1) + Math.floor(n / 3) * 1000).toISOString(),
        eventName: "Create",
        eventType: "ConsoleOperation",
        serviceName: "Ecs",
        userIdentity: identity,
        referencedResources: instances.length ? { "ACS::ECS::Instance": instances } : {},
        additionalEventData: instances.length
          ? { orderIds: orderId, [orderId]: { resourceId: instances.join(","), articleConfig: { vm_cpu: String(n) } } }
          : { orderIds: orderId },
      });
    }
  });
  return events;
}

const ITEMS = "items { articleConfig resource { type resourceId } }";

describe.each(storesUnderTest())("an order page's items, read with the page ($kind)", ({ kind, available }) => {
  let store: TestStore;
  beforeAll(async () => {
    if (!available) return;
    store = await openTestStore(kind);
    await store.ingestEvents(dataset());
  });
  afterAll(async () => store?.close());

  /** Each order's items as `order(orderId)` answers them (read by the items loader, not with a page). */
  async function itemsOneByOne(orderIds: string[]): Promise<Record<string, unknown>> {
    const answers: Record<string, unknown> = {};
    for (const orderId of orderIds) {
      const data = dataOf(await store.graphql(`query($o: ID!) { order(orderId: $o) { ${ITEMS} } }`, { o: orderId }));
      answers[orderId] = data.order.items;
    }
    return answers;
  }

  /** Every page of an account's orders, `size` at a time, forwards or backwards. */
  async function walk(accountId: string, size: number, forward: boolean, fields: string) {
    const query = `query($a: ID!, $first: Int, $after: String, $last: Int, $before: String) {
      account(accountId: $a) { orders(first: $first, after: $after, last: $last, before: $before) {
        nodes { orderId ${fields} } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } }`;
    const nodes: Array<{ orderId: string; items?: unknown }> = [];
    let cursor: string | null = null;
    for (let guard = 0; guard < 20; guard++) {
      const variables: Record<string, unknown> = forward
        ? { a: accountId, first: size, after: cursor }
        : { a: accountId, last: size, before: cursor };
      const page: { nodes: typeof nodes; pageInfo: Record<string, any> } = dataOf(await store.graphql(query, variables))
        .account.orders;
      expect(page.nodes.length).toBeLessThanOrEqual(size);
      nodes.push(...(forward ? page.nodes : [...page.nodes].reverse()));
      if (!(forward ? page.pageInfo.hasNextPage : page.pageInfo.hasPreviousPage)) break;
      expect(page.nodes).toHaveLength(size);
      cursor = forward ? page.pageInfo.endCursor : page.pageInfo.startCursor;
    }
    return nodes;
  }

  it.skipIf(!available)("pages through the same orders, each with the items it has alone", async () => {
    for (const accountId of ACCOUNTS) {
      const plain = (await walk(accountId, 2, true, "")).map((node) => node.orderId);
      expect(plain).toHaveLength(ORDERS_PER_ACCOUNT);
      const expected = await itemsOneByOne(plain);
      // Orders with no item, one and two items, and different configurations.
      expect(new Set(Object.values(expected).map((items) => (items as unknown[]).length))).toEqual(new Set([0, 1, 2]));
      for (const [size, forward] of [
        [2, true],
        [4, true],
        [2, false],
        [50, true],
      ] as const) {
        const withItems = await walk(accountId, size, forward, ITEMS);
        const order = forward ? plain : [...plain].reverse();
        expect(withItems.map((node) => node.orderId)).toEqual(order);
        for (const node of withItems) expect(node.items, node.orderId).toEqual(expected[node.orderId]);
      }
    }
  });

  it.skipIf(!available)("reads the items with the page: no statement more than the page alone", async () => {
    const count = async (fields: string) => {
      const before = store.statements();
      const data = dataOf(
        await store.graphql(`{ accounts { nodes { accountId orders(first: 5) { nodes { orderId ${fields} } } } } }`),
      );
      return { statements: store.statements() - before, accounts: data.accounts.nodes };
    };
    const plain = await count("");
    const items = await count(`${ITEMS} resources { resourceId }`);
    expect(items.statements).toBe(plain.statements);
    // The pages of both accounts (one statement for both), with their items and resources.
    expect(items.accounts).toHaveLength(ACCOUNTS.length);
    const orderIds = items.accounts.flatMap((account: any) => account.orders.nodes.map((o: any) => o.orderId));
    expect(orderIds).toEqual(plain.accounts.flatMap((account: any) => account.orders.nodes.map((o: any) => o.orderId)));
    const expected = await itemsOneByOne(orderIds);
    for (const account of items.accounts) {
      for (const order of account.orders.nodes) {
        expect(order.items).toEqual(expected[order.orderId]);
        // Order.resources answers from the items read with the page.
        expect(order.resources).toEqual(order.items.map((item: any) => ({ resourceId: item.resource.resourceId })));
      }
    }
  });

  it.skipIf(!available)("reads the root order list's items with its page", async () => {
    const data = dataOf(await store.graphql(`{ orders(first: 50) { nodes { orderId ${ITEMS} } } }`));
    const nodes = data.orders.nodes as Array<{ orderId: string; items: unknown }>;
    expect(nodes).toHaveLength(ACCOUNTS.length * ORDERS_PER_ACCOUNT);
    const expected = await itemsOneByOne(nodes.map((node) => node.orderId));
    for (const node of nodes) expect(node.items).toEqual(expected[node.orderId]);
  });
});
