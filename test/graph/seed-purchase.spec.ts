import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dataOf, openTestStore, type TestStore } from "../support/harness";
import { storesUnderTest } from "../support/stores";

const samples = JSON.parse(readFileSync("samples/events.json", "utf8")) as unknown[];
const seed = samples[0] as Record<string, unknown>;

describe.each(storesUnderTest())("the seed purchase event, end to end ($kind)", ({ kind, available }) => {
  let store: TestStore;
  beforeAll(async () => {
    if (!available) return;
    store = await openTestStore(kind);
    await store.ingestEvents([seed]);
  });
  afterAll(async () => store?.close());

  it.skipIf(!available)("account → orders → item → resource → events → event → identity", async () => {
    const data = dataOf(
      await store.graphql(`{
        account(accountId: "151266687691****") {
          accountId
          orders(first: 5) {
            totalCount
            nodes {
              orderId
              account { accountId }
              purchaseEvent { eventId }
              items {
                articleConfig
                resource {
                  type
                  resourceId
                  events(first: 10) {
                    nodes {
                      eventId eventName eventType eventTime failed serviceName
                      userIdentity { type accountId principalId userName account { accountId } }
                      orders { orderId }
                      referencedResources { type resourceId }
                    }
                  }
                }
              }
            }
          }
        }
      }`),
    );
    const account = data.account;
    expect(account.accountId).toBe("151266687691****");
    expect(account.orders.totalCount).toBe(1);
    const order = account.orders.nodes[0];
    expect(order.orderId).toBe("2105464****");
    expect(order.account.accountId).toBe("151266687691****");
    expect(order.purchaseEvent.eventId).toBe("2546c4b7-6b56-403e-97d3-500d8d29****");
    expect(order.items).toHaveLength(1);
    const item = order.items[0];
    expect(item.articleConfig.vm_cpu).toBe("4");
    expect(item.articleConfig.vm_ram).toBe("16384");
    expect(item.resource).toEqual(
      expect.objectContaining({ type: "ACS::ECS::Instance", resourceId: "i-bp67acfmxazb4p****" }),
    );
    const [event] = item.resource.events.nodes;
    expect(event).toEqual({
      eventId: "2546c4b7-6b56-403e-97d3-500d8d29****",
      eventName: "Create",
      eventType: "ConsoleOperation",
      eventTime: "2021-08-02T06:30:17.000Z",
      failed: false,
      serviceName: "Ecs",
      userIdentity: {
        type: "root-account",
        accountId: "151266687691****",
        principalId: "151266687691****",
        userName: "root",
        account: { accountId: "151266687691****" },
      },
      orders: [{ orderId: "2105464****" }],
      referencedResources: [{ type: "ACS::ECS::Instance", resourceId: "i-bp67acfmxazb4p****" }],
    });
  });

  it.skipIf(!available)("keeps the original event whole, and the JSON parts as JSON", async () => {
    const data = dataOf(
      await store.graphql(`{ event(eventId: "2546c4b7-6b56-403e-97d3-500d8d29****") {
        raw requestParameters additionalEventData responseElements errorCode definition { eventName }
      } }`),
    );
    expect(data.event.raw).toEqual(seed);
    expect(data.event.requestParameters).toEqual({});
    expect(data.event.additionalEventData).toEqual(seed.additionalEventData);
    expect(data.event.responseElements).toBeNull();
    expect(data.event.errorCode).toBeNull();
    expect(data.event.definition).toBeNull();
  });

  it.skipIf(!available)("refetches every object type through node(id)", async () => {
    const data = dataOf(
      await store.graphql(`{ event(eventId: "2546c4b7-6b56-403e-97d3-500d8d29****") {
        id account { id } userIdentity { id } orders { id } referencedResources { id }
      } }`),
    );
    const ids = [
      data.event.id,
      data.event.account.id,
      data.event.userIdentity.id,
      data.event.orders[0].id,
      data.event.referencedResources[0].id,
    ];
    for (const id of ids) {
      const node = dataOf(await store.graphql(`query($id: ID!) { node(id: $id) { id __typename } }`, { id }));
      expect(node.node.id).toBe(id);
    }
    const types = await Promise.all(
      ids.map(
        async (id) =>
          dataOf(await store.graphql(`query($id: ID!) { node(id: $id) { __typename } }`, { id })).node.__typename,
      ),
    );
    expect(types).toEqual(["Event", "Account", "UserIdentity", "Order", "ReferencedResource"]);
  });
});
