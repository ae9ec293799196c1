import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dataOf, openTestStore, TEST_COST_LIMITS, type TestStore } from "../support/harness";
import { storesUnderTest } from "../support/stores";

/**
 * Event lists read only the columns their selection needs. Every Event field must answer the
 * same through a list (projected rows) as through `event(eventId)` (whole rows): a field whose
 * columns the projection forgot would come back null here.
 */
const samples = JSON.parse(readFileSync("samples/events.json", "utf8")) as unknown[];

interface TypeRef {
  kind: string;
  name: string | null;
  ofType: TypeRef | null;
}

interface FieldInfo {
  name: string;
  args: Array<{ name: string }>;
  type: TypeRef;
}

function named(type: TypeRef): TypeRef {
  return type.ofType ? named(type.ofType) : type;
}

describe.each(storesUnderTest())("event lists read only the columns they need ($kind)", ({ kind, available }) => {
  let store: TestStore;
  const selections: Array<[field: string, selection: string]> = [];
  let eventIds: string[] = [];

  beforeAll(async () => {
    if (!available) return;
    // The oracle reads whole lists of a small store (500 resources × 500 events each), a fan-out
    // the default cost limit refuses; the other limits stay on.
    store = await openTestStore(kind, { cost: { ...TEST_COST_LIMITS, maxCost: null } });
    await store.ingestEvents(samples);
    const typeQuery = `query ($name: String!) { __type(name: $name) { fields { name args { name } type { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } }`;
    const fieldsOf = async (name: string) =>
      dataOf(await store.graphql<{ __type: { fields: FieldInfo[] } }>(typeQuery, { name })).__type.fields;
    // Each Event field, objects with all their scalar fields (so that a wrong object shows).
    for (const field of await fieldsOf("Event")) {
      if (field.args.length > 0) continue;
      const type = named(field.type);
      if (type.kind === "OBJECT" || type.kind === "INTERFACE") {
        const scalars = (await fieldsOf(type.name!))
          .filter((sub) => sub.args.length === 0 && ["SCALAR", "ENUM"].includes(named(sub.type).kind))
          .map((sub) => sub.name);
        selections.push([field.name, `${field.name} { ${scalars.join(" ")} }`]);
      } else {
        selections.push([field.name, field.name]);
      }
    }
    const all = dataOf(await store.graphql<any>(`{ events(first: 500) { nodes { eventId } } }`));
    eventIds = all.events.nodes.map((node: { eventId: string }) => node.eventId);
  });
  afterAll(async () => store?.close());

  /** `event(eventId)` for every event, one field selected: whole rows. */
  async function byLookup(selection: string): Promise<Map<string, unknown>> {
    const aliases = eventIds.map((id, i) => `e${i}: event(eventId: ${JSON.stringify(id)}) { eventId ${selection} }`);
    const data = dataOf(await store.graphql<Record<string, Record<string, unknown>>>(`{ ${aliases.join(" ")} }`));
    return new Map(Object.values(data).map((event) => [event.eventId as string, event]));
  }

  it.skipIf(!available)("every Event field answers the same in a list as by lookup", async () => {
    expect(eventIds.length).toBe(samples.length);
    expect(selections.length).toBeGreaterThan(25);
    for (const [field, selection] of selections) {
      const expected = await byLookup(selection);
      const list = dataOf(await store.graphql<any>(`{ events(first: 500) { nodes { eventId ${selection} } } }`));
      const edges = dataOf(
        await store.graphql<any>(`{ events(first: 500) { edges { node { eventId ... on Event { ${selection} } } } } }`),
      );
      // Lists reached through a link table read their page's keys first, then the rows.
      const linked = dataOf(
        await store.graphql<any>(`{
          resources(first: 500) { nodes { events(first: 500) { nodes { eventId ${selection} } } } }
          orders(first: 500) { nodes { events(first: 500) { nodes { eventId ${selection} } } } }
        }`),
      );
      const linkedNodes = [...linked.resources.nodes, ...linked.orders.nodes].flatMap((parent) => parent.events.nodes);
      expect(list.events.nodes, field).toHaveLength(eventIds.length);
      expect(linkedNodes.length, field).toBeGreaterThan(eventIds.length / 2);
      for (const node of list.events.nodes) expect(node, field).toEqual(expected.get(node.eventId));
      for (const edge of edges.events.edges) expect(edge.node, field).toEqual(expected.get(edge.node.eventId));
      for (const node of linkedNodes) expect(node, field).toEqual(expected.get(node.eventId));
    }
  });

  it.skipIf(!available)("fields selected through named fragments and on nested lists are read", async () => {
    const expected = await byLookup("eventName serviceName sourceIpAddress definition { eventName }");
    const data = dataOf(
      await store.graphql<any>(`
        fragment Row on Event { eventId ...More }
        fragment More on Event { eventName serviceName sourceIpAddress definition { eventName } }
        {
          accounts(first: 50) { nodes { events(first: 500) { nodes { ...Row } } } }
        }`),
    );
    const nodes = data.accounts.nodes.flatMap((account: any) => account.events.nodes);
    expect(nodes.length).toBeGreaterThan(0);
    const named = nodes.filter((node: any) => node.serviceName !== null);
    expect(named.length).toBeGreaterThan(0);
    for (const node of nodes) expect(node).toEqual(expected.get(node.eventId));
  });

  it.skipIf(!available)(
    "a whole-row lookup after a projected list in one request still answers every field",
    async () => {
      const id = eventIds[0];
      const data = dataOf(
        await store.graphql<any>(
          `query ($id: ID!) { events(first: 500) { nodes { eventId } } event(eventId: $id) { eventId eventName eventTime userAgent failed } }`,
          { id },
        ),
      );
      const expected = (await byLookup("eventName eventTime userAgent failed")).get(id);
      expect(data.event).toEqual(expected);
      expect(data.event.eventName).not.toBeNull();
    },
  );
});
