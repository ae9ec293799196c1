/**
 * TrailGraph composed with the example CMDB subgraph (examples/supergraph/cmdb) by a real
 * composition library and served through a real gateway process over loopback HTTP. Every
 * answer through the gateway equals the one assembled from the subgraphs asked directly; the
 * caller's Authorization reaches TrailGraph; TrailGraph's statements do not grow with the
 * number of instances; a subgraph that does not compose fails with composition's own error.
 */
import { readFileSync } from "node:fs";
import { composeServices as composeServicesOfTheGuild } from "@theguild/federation-composition";
import { parse } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CMDB_SDL, sampleCmdbData } from "../../examples/supergraph/cmdb";
import { CompositionError, composeSupergraph } from "../../examples/supergraph/compose";
import { normalizeEvent } from "../../src/ingest/normalize";
import { openTestStore, type TestStore } from "../support/harness";
import { storesUnderTest } from "../support/stores";
import { post, startSupergraph, token, type GraphQLAnswer, type Supergraph } from "../support/supergraph";

const samples = JSON.parse(readFileSync("samples/events.json", "utf8")) as Array<Record<string, unknown>>;
const cmdb = sampleCmdbData();
const A = "151266687691****";
const B = "176618589410****";
/** Sample events per owning account, and one event ID of each. */
const owned = new Map<string | null, number>();
const eventOf = new Map<string | null, string>();
for (const event of samples) {
  const { accountId, eventId } = normalizeEvent(event);
  owned.set(accountId, (owned.get(accountId) ?? 0) + 1);
  if (!eventOf.has(accountId)) eventOf.set(accountId, eventId);
}

const EVENT_FIELDS = "eventId eventName eventTime userIdentity { userName }";

/** The data of an answer without errors. */
function data(answer: GraphQLAnswer): any {
  expect(answer.body.errors, JSON.stringify(answer.body.errors)).toBeUndefined();
  expect(answer.status).toBe(200);
  return answer.body.data;
}

describe("composition", () => {
  const trailgraphSdl = readFileSync("schema.graphql", "utf8");
  const compose = (cmdbSdl: string) =>
    composeSupergraph([
      { name: "trailgraph", url: "http://127.0.0.1:1/graphql", sdl: trailgraphSdl },
      { name: "cmdb", url: "http://127.0.0.1:2/", sdl: cmdbSdl },
    ]);

  it("composes TrailGraph's committed SDL with the CMDB (both define PageInfo, DateTime and JSON)", () => {
    const supergraph = compose(CMDB_SDL);
    // Both subgraphs resolve ReferencedResource and Account by their keys, and share PageInfo.
    expect(supergraph).toMatch(
      /type ReferencedResource[^{]*@join__type\(graph: CMDB, key: "type resourceId"\)[^{]*@join__type\(graph: TRAILGRAPH, key: "type resourceId"\)/,
    );
    expect(supergraph).toMatch(/type Account[^{]*@join__type\(graph: CMDB, key: "accountId"\)/);
    expect(supergraph).toMatch(/type PageInfo[^{]*@join__type\(graph: CMDB\)[^{]*@join__type\(graph: TRAILGRAPH\)/);
  });

  it("fails with composition's own error when a subgraph does not compose", () => {
    // The CMDB's PageInfo without @shareable: two subgraphs would resolve the same fields.
    const unshared = CMDB_SDL.replace("type PageInfo @shareable {", "type PageInfo {");
    expect(unshared).not.toBe(CMDB_SDL);
    let error: unknown;
    try {
      compose(unshared);
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(CompositionError);
    expect((error as CompositionError).composer).toBe("@apollo/composition");
    expect((error as Error).message).toMatch(
      /\[INVALID_FIELD_SHARING\] Non-shareable field "PageInfo\.hasNextPage" is resolved from multiple subgraphs/,
    ); // The cross-check refuses it too, with the same code.
    const guild = composeServicesOfTheGuild([
      { name: "trailgraph", url: "http://127.0.0.1:1/graphql", typeDefs: parse(trailgraphSdl) },
      { name: "cmdb", url: "http://127.0.0.1:2/", typeDefs: parse(unshared) },
    ]);
    expect(guild.errors?.map((e) => e.extensions?.code)).toContain("INVALID_FIELD_SHARING");
  });
});

describe.each(storesUnderTest())("through the gateway ($kind)", ({ kind, available }) => {
  let store: TestStore;
  let supergraph: Supergraph;
  let all: Record<string, string>;

  beforeAll(async () => {
    if (!available) return;
    store = await openTestStore(kind);
    await store.ingestEvents(samples);
    supergraph = await startSupergraph(store, cmdb);
    all = { authorization: `Bearer ${await token("*")}` };
  });
  afterAll(async () => {
    await supergraph?.stop();
    await store?.close();
  });

  const gateway = (query: string, variables: Record<string, unknown> = {}, headers = all) =>
    post(supergraph.gatewayUrl, query, variables, headers);
  const trailgraph = (query: string, variables: Record<string, unknown> = {}) =>
    post(supergraph.trailgraphUrl, query, variables, all);
  const cmdbDirect = (query: string, variables: Record<string, unknown> = {}) =>
    post(supergraph.cmdbUrl, query, variables);

  /** The CMDB's fields of these resources, asked of the CMDB directly (its `_entities`). */
  async function cmdbResources(resources: Array<{ type: string; resourceId: string }>) {
    const answer = data(
      await cmdbDirect(
        `query ($r: [_Any!]!) { _entities(representations: $r) {
          ... on ReferencedResource { owner { name team } costCenter instance { name environment updatedAt tags } } } }`,
        { r: resources.map(({ type, resourceId }) => ({ __typename: "ReferencedResource", type, resourceId })) },
      ),
    );
    return answer._entities as Array<Record<string, unknown>>;
  }

  /** TrailGraph's resources by key, asked directly (aliases r0, r1, ...). */
  async function trailgraphResources(resources: Array<{ type: string; resourceId: string }>, selection: string) {
    const variables: Record<string, unknown> = {};
    const fields = resources.map(({ type, resourceId }, i) => {
      variables[`t${i}`] = type;
      variables[`i${i}`] = resourceId;
      return `r${i}: resource(type: $t${i}, resourceId: $i${i}) { ${selection} }`;
    });
    const parameters = resources.map((_, i) => `$t${i}: String!, $i${i}: ID!`).join(", ");
    const answer = data(await trailgraph(`query (${parameters}) { ${fields.join(" ")} }`, variables));
    return resources.map((_, i) => answer[`r${i}`]);
  }

  const instanceEvents = (resource: string) => `
    totalCount
    edges {
      cursor
      node {
        resourceId name owner { name team } costCenter
        resource { ${resource} }
      }
    }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }`;
  const EVENTS_PAGE = `events(first: $events, filter: $filter) {
    totalCount edges { cursor node { ${EVENT_FIELDS} } } pageInfo { hasNextPage endCursor } }`;

  it.skipIf(!available)("CMDB instances → their TrailGraph events, filtered and paged with cursors", async () => {
    const filter = { failed: false };
    const variables = { first: 10, events: 3, filter };
    const through = data(
      await gateway(
        `query ($first: Int!, $events: Int!, $filter: EventFilter) { instances(first: $first) { ${instanceEvents(`type resourceId accountId ${EVENTS_PAGE}`)} } }`,
        variables,
      ),
    );
    // Asked directly: the CMDB for its instances, TrailGraph for each one's resource and events.
    const fromCmdb = data(
      await cmdbDirect(`query ($first: Int!) { instances(first: $first) { ${instanceEvents("type resourceId")} } }`, {
        first: 10,
      }),
    ).instances;
    const keys = fromCmdb.edges.map((edge: any) => edge.node.resource);
    const fromTrailgraph = await trailgraphResources(
      keys,
      `type resourceId accountId events(first: 3, filter: { failed: false }) {
        totalCount edges { cursor node { ${EVENT_FIELDS} } } pageInfo { hasNextPage endCursor } }`,
    );
    fromCmdb.edges.forEach((edge: any, i: number) => (edge.node.resource = fromTrailgraph[i]));
    expect(through.instances).toEqual(fromCmdb);
    expect(through.instances.edges).toHaveLength(cmdb.instances.length);
    const busiest = through.instances.edges.find((edge: any) => edge.node.resource.events.pageInfo.hasNextPage);
    expect(busiest, "an instance with more than one page of events").toBeDefined();

    // The next page of one instance's events, from the cursor the gateway gave.
    const { resourceId } = busiest.node;
    const after = busiest.node.resource.events.pageInfo.endCursor;
    const next = data(
      await gateway(
        `query ($id: ID!, $after: String, $filter: EventFilter) {
          instance(resourceId: $id) { name resource { events(first: 3, after: $after, filter: $filter) {
            edges { cursor node { ${EVENT_FIELDS} } } pageInfo { hasNextPage hasPreviousPage endCursor } } } } }`,
        { id: resourceId, after, filter },
      ),
    ).instance.resource.events;
    const nextDirect = data(
      await trailgraph(
        `query ($type: String!, $id: ID!, $after: String, $filter: EventFilter) {
          resource(type: $type, resourceId: $id) { events(first: 3, after: $after, filter: $filter) {
            edges { cursor node { ${EVENT_FIELDS} } } pageInfo { hasNextPage hasPreviousPage endCursor } } } }`,
        { type: busiest.node.resource.type, id: resourceId, after, filter },
      ),
    ).resource.events;
    expect(next).toEqual(nextDirect);
    expect(next.pageInfo.hasPreviousPage).toBe(true);
    const firstPage = busiest.node.resource.events.edges.map((edge: any) => edge.node.eventId);
    for (const edge of next.edges) expect(firstPage).not.toContain(edge.node.eventId);
  });

  it.skipIf(!available)("TrailGraph events → their resources' CMDB owners", async () => {
    const ids = cmdb.instances.map((instance) => instance.resourceId);
    const selection = (cmdbFields: string) => `
      events(first: 20, filter: { resourceIds: $ids }) {
        nodes { eventId eventName account { accountId } referencedResources { type resourceId ${cmdbFields} } }
      }`;
    const through = data(
      await gateway(
        `query ($ids: [String!]) { ${selection("owner { name team } costCenter instance { name environment updatedAt tags }")} }`,
        { ids },
      ),
    );
    const direct = data(await trailgraph(`query ($ids: [String!]) { ${selection("")} }`, { ids }));
    const resources = direct.events.nodes.flatMap((event: any) => event.referencedResources);
    const owners = await cmdbResources(resources);
    resources.forEach((resource: any, i: number) => Object.assign(resource, owners[i]));
    expect(through).toEqual(direct);
    // Some resources are the CMDB's (an owner), some are not (RAM users and policies: null).
    expect(resources.some((resource: any) => resource.owner !== null)).toBe(true);
    expect(resources.some((resource: any) => resource.owner === null)).toBe(true);
  });

  it.skipIf(!available)("account → orders → items → resource → CMDB owner and TrailGraph events", async () => {
    const shape = (accountFields: string, resourceFields: string) => `
      query ($a: ID!) { account(accountId: $a) { accountId firstSeenAt ${accountFields}
        orders(first: 10) { nodes { orderId createdAt items { articleConfig resource { type resourceId ${resourceFields}
          events(first: 3) { totalCount nodes { eventId eventName } } } } } } } }`;
    const through = data(await gateway(shape("displayName", "owner { name team } costCenter"), { a: A }));
    const direct = data(await trailgraph(shape("", ""), { a: A }));
    const resources = direct.account.orders.nodes.flatMap((order: any) =>
      order.items.map((item: any) => item.resource),
    );
    expect(resources.length).toBeGreaterThan(0);
    const owners = await cmdbResources(resources);
    resources.forEach((resource: any, i: number) => {
      resource.owner = owners[i].owner;
      resource.costCenter = owners[i].costCenter;
    });
    const account = data(
      await cmdbDirect(`query ($r: [_Any!]!) { _entities(representations: $r) { ... on Account { displayName } } }`, {
        r: [{ __typename: "Account", accountId: A }],
      }),
    )._entities[0];
    direct.account.displayName = account.displayName;
    expect(through).toEqual(direct);
    expect(through.account.displayName).toBe("Production");
    expect(resources.some((resource: any) => resource.owner !== null)).toBe(true);
  });

  it.skipIf(!available)("costs TrailGraph the same statements for 1 instance as for all of them", async () => {
    const query = `query ($first: Int!, $events: Int!, $filter: EventFilter) { instances(first: $first) {
      ${instanceEvents(`type resourceId accountId ${EVENTS_PAGE}`)} } }`;
    const statementsFor = async (first: number) => {
      const before = store.statements();
      const answer = data(await gateway(query, { first, events: 5, filter: {} }));
      expect(answer.instances.edges).toHaveLength(first);
      return store.statements() - before;
    };
    const one = await statementsFor(1);
    const every = await statementsFor(cmdb.instances.length);
    expect(cmdb.instances.length).toBeGreaterThan(1);
    // The resources (one _entities lookup), their events' page (identities joined), its count.
    expect(one).toBe(3);
    expect(every).toBe(one);
  });

  it.skipIf(!available)(
    "passes the caller's Authorization to TrailGraph: a restricted token sees its accounts",
    async () => {
      const query = `query ($other: ID!) {
      accounts(first: 10) { nodes { accountId displayName } }
      events(first: 1) { totalCount }
      other: event(eventId: $other) { eventId }
    }`;
      const variables = { other: eventOf.get(B)! };
      const everything = data(await gateway(query, variables));
      expect(everything.accounts.nodes.map((a: any) => a.accountId).sort()).toEqual(
        [...owned.keys()].filter(Boolean).sort(),
      );
      expect(everything.events.totalCount).toBe(samples.length);
      expect(everything.other).toEqual({ eventId: eventOf.get(B) });

      const restricted = data(await gateway(query, variables, { authorization: `Bearer ${await token([A])}` }));
      expect(restricted.accounts.nodes).toEqual([{ accountId: A, displayName: "Production" }]);
      expect(restricted.events.totalCount).toBe(owned.get(A));
      expect(restricted.other).toBeNull();

      // Without a credential TrailGraph refuses, and the gateway says so.
      const refused = await gateway(query, variables, {});
      expect(refused.body.data?.accounts ?? null).toBeNull();
      expect(JSON.stringify(refused.body.errors)).toMatch(/401|UNAUTHENTICATED|credential/);
    },
  );
});
