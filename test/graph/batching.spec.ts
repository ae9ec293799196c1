import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dataOf, openTestStore, type TestStore } from "../support/harness";
import { storesUnderTest } from "../support/stores";

const ACCOUNT = "120000000000001";
const ORDERS = 60;
const EVENTS_PER_RESOURCE = 12;

/** One account with ORDERS buy-page purchases, each instance touched by more events. */
function dataset(): unknown[] {
  const events: unknown[] = [];
  const identity = { type: "root-account", accountId: ACCOUNT, principalId: ACCOUNT, userName: "root" };
  for (let n = 0; n < ORDERS; n++) {
    const orderId = String(300000000 + n);
    const instance = `i-batch${n.toString().padStart(4, "0")}`;
    const base = Date.UTC(2024, 0, 1) + n * 3_600_000;
    events.push({
      eventId: `purchase-${n}`,
      eventTime: new Date(base).toISOString(),
      eventName: "Create",
      eventType: "ConsoleOperation",
      serviceName: "Ecs",
      userIdentity: identity,
      referencedResources: { "ACS::ECS::Instance": [instance] },
      additionalEventData: { orderIds: orderId, [orderId]: { resourceId: instance, articleConfig: { vm_cpu: "2" } } },
    });
    for (let k = 1; k < EVENTS_PER_RESOURCE; k++) {
      events.push({
        eventId: `touch-${n}-${k}`,
        eventTime: new Date(base + k * 1000).toISOString(),
        eventName: "DescribeInstances",
        eventType: "ApiCall",
        serviceName: "Ecs",
        userIdentity: identity,
        referencedResources: { "ACS::ECS::Instance": [instance] },
      });
    }
  }
  return events;
}

const NESTED = `query($orders: Int!, $events: Int!) {
  account(accountId: "${ACCOUNT}") {
    orders(first: $orders) {
      nodes {
        orderId
        items {
          articleConfig
          resource {
            resourceId
            events(first: $events) { nodes { eventId eventName userIdentity { userName } } }
          }
        }
      }
    }
  }
}`;

describe.each(storesUnderTest())("N+1 guard ($kind)", ({ kind, available }) => {
  let store: TestStore;
  beforeAll(async () => {
    if (!available) return;
    store = await openTestStore(kind);
    await store.ingestEvents(dataset());
  });
  afterAll(async () => store?.close());

  async function statementsFor(orders: number, events: number) {
    const before = store.statements();
    const data = dataOf(await store.graphql(NESTED, { orders, events }));
    return { statements: store.statements() - before, data };
  }

  it.skipIf(!available)("issues as many statements for 50 × 10 as for 2 × 1: depth, not page size", async () => {
    const small = await statementsFor(2, 1);
    const large = await statementsFor(50, 10);
    // The large query really fetched 50 orders and 10 events for each of their resources.
    const orders = large.data.account.orders.nodes;
    expect(orders).toHaveLength(50);
    for (const order of orders) {
      expect(order.items).toHaveLength(1);
      expect(order.items[0].resource.events.nodes).toHaveLength(10);
    }
    expect(small.data.account.orders.nodes).toHaveLength(2);
    expect(large.statements).toBe(small.statements);
    // account, orders page, items, resources, events pages, identities.
    expect(large.statements).toBeLessThanOrEqual(6);
  });

  it.skipIf(!available)("each resource gets its own newest events, in order", async () => {
    const { data } = await statementsFor(3, 4);
    for (const order of data.account.orders.nodes) {
      const n = Number(order.orderId) - 300000000;
      const ids = order.items[0].resource.events.nodes.map((event: { eventId: string }) => event.eventId);
      expect(ids).toEqual([11, 10, 9, 8].map((k) => `touch-${n}-${k}`));
    }
  });
});
