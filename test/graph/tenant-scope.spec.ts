import { readFileSync } from "node:fs";
import { graphql, type GraphQLSchema } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Context } from "../../src/context";
import { TenantScope } from "../../src/db/scope";
import { buildTrailGraphSchema } from "../../src/schema/build";
import { openTestStore, type TestStore } from "../support/harness";
import { storesUnderTest } from "../support/stores";

const samples = JSON.parse(readFileSync("samples/events.json", "utf8")) as Array<Record<string, any>>;
const MAIN = "151266687691****";

describe.each(storesUnderTest())("tenant scope ($kind)", ({ kind, available }) => {
  let store: TestStore;
  let schema: GraphQLSchema;
  beforeAll(async () => {
    if (!available) return;
    store = await openTestStore(kind);
    await store.ingestEvents(samples);
    schema = await buildTrailGraphSchema();
  });
  afterAll(async () => store?.close());

  async function run(scope: TenantScope, source: string) {
    const result = await graphql({ schema, source, contextValue: new Context(store.dataSource, scope) });
    if (result.errors?.length) throw new Error(JSON.stringify(result.errors));
    return result.data as any;
  }

  const QUERY = `{
    events(first: 500) { totalCount nodes { accountId } }
    accounts(first: 500) { nodes { accountId } }
    orders(first: 500) { nodes { accountId } }
    resources(first: 500) { nodes { accountId } }
    seed: event(eventId: "2546c4b7-6b56-403e-97d3-500d8d29****") { eventId }
    order(orderId: "2105464****") { orderId }
  }`;

  it.skipIf(!available)("an unrestricted scope sees every account", async () => {
    const data = await run(TenantScope.all(), QUERY);
    expect(data.events.totalCount).toBe(samples.length);
    expect(new Set(data.accounts.nodes.map((a: any) => a.accountId)).size).toBeGreaterThan(1);
  });

  it.skipIf(!available)("a scope of one account sees only that account, in lists and lookups", async () => {
    const data = await run(TenantScope.accounts([MAIN]), QUERY);
    const owned = samples.filter((event) => (event.userIdentity?.accountId ?? event.recipientAccountId) === MAIN);
    expect(data.events.totalCount).toBe(owned.length);
    expect(owned.length).toBeLessThan(samples.length);
    for (const list of [data.events, data.accounts, data.orders, data.resources]) {
      expect(list.nodes.length).toBeGreaterThan(0);
      for (const node of list.nodes) expect(node.accountId).toBe(MAIN);
    }
    expect(data.seed.eventId).toBe("2546c4b7-6b56-403e-97d3-500d8d29****");
  });

  it.skipIf(!available)("a scope of another account sees none of the first one's objects", async () => {
    const other = samples.find((event) => event.userIdentity?.accountId && event.userIdentity.accountId !== MAIN)!
      .userIdentity.accountId;
    const data = await run(TenantScope.accounts([other]), QUERY);
    expect(data.seed).toBeNull();
    expect(data.order).toBeNull();
    for (const node of data.events.nodes) expect(node.accountId).toBe(other);
    const hidden = await run(TenantScope.accounts([other]), `{ account(accountId: "${MAIN}") { accountId } }`);
    expect(hidden.account).toBeNull();
  });

  it.skipIf(!available)("an empty scope sees nothing", async () => {
    const data = await run(TenantScope.accounts([]), QUERY);
    expect(data.events.totalCount).toBe(0);
    expect(data.accounts.nodes).toEqual([]);
  });
});
