import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dataOf, openTestStore, type TestStore } from "../support/harness";
import { storesUnderTest } from "../support/stores";

const samples = JSON.parse(readFileSync("samples/events.json", "utf8")) as Array<Record<string, any>>;
const MAIN = "151266687691****";

/** Expected counts computed from the samples: most frequent first, ties by key. */
function expectedCounts(events: Array<Record<string, any>>, keyOf: (event: Record<string, any>) => string | null) {
  const counts = new Map<string | null, number>();
  for (const event of events) counts.set(keyOf(event), (counts.get(keyOf(event)) ?? 0) + 1);
  return [...counts]
    .map(([key, count]) => ({ key, count }))
    .sort((a, b) => b.count - a.count || String(a.key ?? "").localeCompare(String(b.key ?? "")));
}

const owner = (event: Record<string, any>) => event.userIdentity?.accountId ?? event.recipientAccountId ?? null;

describe.each(storesUnderTest())("eventCounts ($kind)", ({ kind, available }) => {
  let store: TestStore;
  beforeAll(async () => {
    if (!available) return;
    store = await openTestStore(kind);
    await store.ingestEvents(samples);
  });
  afterAll(async () => store?.close());

  it.skipIf(!available)("counts every event name, most frequent first", async () => {
    const data = dataOf(await store.graphql(`{ eventCounts(by: EVENT_NAME, first: 500) { key count } }`));
    const expected = expectedCounts(samples, (event) => event.eventName);
    expect(data.eventCounts.map((c: any) => c.count)).toEqual(expected.map((c) => c.count));
    expect(new Map(data.eventCounts.map((c: any) => [c.key, c.count]))).toEqual(
      new Map(expected.map((c) => [c.key, c.count])),
    );
  });

  it.skipIf(!available)("counts an account's events within a filter, and only its own", async () => {
    const from = "2021-08-10T00:00:00Z";
    const data = dataOf(
      await store.graphql(`{ account(accountId: "${MAIN}") {
        eventCounts(by: SERVICE_NAME, filter: {from: "${from}"}, first: 3) { key count }
      } }`),
    );
    const mine = samples.filter((event) => owner(event) === MAIN && event.eventTime >= from);
    const expected = expectedCounts(mine, (event) => event.serviceName).slice(0, 3);
    expect(mine.length).toBeLessThan(samples.length);
    expect(data.account.eventCounts.map((c: any) => c.count)).toEqual(expected.map((c) => c.count));
  });

  it.skipIf(!available)("groups successes under a null error code", async () => {
    const data = dataOf(await store.graphql(`{ eventCounts(by: ERROR_CODE, first: 500) { key count } }`));
    const successes = samples.filter((event) => !event.errorCode).length;
    expect(data.eventCounts.find((c: any) => c.key === null)?.count).toBe(successes);
    expect(data.eventCounts.reduce((sum: number, c: any) => sum + c.count, 0)).toBe(samples.length);
  });

  it.skipIf(!available)("batches the counts of many accounts into one statement", async () => {
    const query = `{ accounts(first: 10) { nodes { accountId eventCounts(by: EVENT_TYPE) { key count } } } }`;
    const before = store.statements();
    const data = dataOf(await store.graphql(query));
    expect(data.accounts.nodes.length).toBeGreaterThan(2);
    expect(store.statements() - before).toBe(2);
    for (const account of data.accounts.nodes) {
      const total = account.eventCounts.reduce((sum: number, c: any) => sum + c.count, 0);
      expect(total).toBe(samples.filter((event) => owner(event) === account.accountId).length);
    }
  });

  it.skipIf(!available)("rejects a page size out of range", async () => {
    const response = await store.graphql(`{ eventCounts(by: EVENT_NAME, first: 501) { key } }`);
    expect(response.errors?.[0].message).toContain("between 1 and 500");
  });
});
