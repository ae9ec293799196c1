/**
 * Federation's `_entities`: every representation resolves through the request's loaders and
 * tenant scope (the same lookups as `node(id:)`), so N representations of one type cost one
 * statement whatever N; unknown ones come back null, in order; the compiled runner serves the
 * gateway's repeated `_entities` queries as graphql-js does; and a request that asks for a
 * federated trace (`apollo-federation-include-trace: ftv1`) gets one, with its fields, on every run.
 */
import { Trace } from "@apollo/usage-reporting-protobuf";
import type { FastifyInstance } from "fastify";
import { getOperationAST, parse, type GraphQLSchema } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authSettings } from "../../src/auth/settings";
import { Context } from "../../src/context";
import { TenantScope } from "../../src/db/scope";
import { generateEvents } from "../../src/generate/generator";
import { ENTITY_TYPES } from "../../src/resolvers/entities";
import { buildTrailGraphSchema } from "../../src/schema/build";
import { createApp } from "../../src/server/app";
import { COMPILE_AFTER, compiledRunner } from "../../src/server/executor";
import { dataOf, openTestStore, type TestStore } from "../support/harness";
import { storesUnderTest } from "../support/stores";
import { JWT_SECRET, token } from "../support/supergraph";

type Representation = { __typename: string } & Record<string, unknown>;

/** A representation, the object's global ID and account (null for an unknown one). */
interface Reference {
  representation: Representation;
  id: string | null;
  accountId: string | null;
}

const ENTITIES = `query ($representations: [_Any!]!) {
  _entities(representations: $representations) {
    __typename
    ... on Node { id }
    ... on Event { eventId }
    ... on Account { accountId }
    ... on Order { orderId }
    ... on ReferencedResource { type resourceId }
    ... on UserIdentity { type identityAccountId: accountId principalId userName accessKeyId }
  }
}`;

/** Two levels: each event's identity is one more statement, whatever the number of events. */
const NESTED = `query ($representations: [_Any!]!) {
  _entities(representations: $representations) {
    ... on Event { eventId eventName userIdentity { userName } }
    ... on Account { accountId accountSeenAt: firstSeenAt }
    ... on Order { orderId createdAt }
    ... on ReferencedResource { resourceId firstSeenAt }
    ... on UserIdentity { userName }
  }
}`;

const IDENTITY_FIELDS = "type accountId principalId userName accessKeyId";

/** The key fields of a representation's type, as the answer carries them. */
function keyOf(representation: Representation): Record<string, unknown> {
  const { __typename, ...key } = representation;
  return { __typename, ...key };
}

/**
 * Account.accountId is `String!`, UserIdentity.accountId `String`: one selection set cannot
 * name both, so the query aliases the identity's; the answer is compared under its own name.
 */
function renameIdentityAccount(answer: any) {
  if (answer?.__typename !== "UserIdentity" || !("identityAccountId" in answer)) return answer;
  const { identityAccountId, ...rest } = answer;
  return { ...rest, accountId: identityAccountId };
}

/** What `_entities` must answer for `references`: each object's key fields and ID, or null. */
function expected(references: Reference[], visible: (reference: Reference) => boolean = () => true) {
  return references.map((reference) =>
    reference.id !== null && visible(reference) ? { ...keyOf(reference.representation), id: reference.id } : null,
  );
}

describe.each(storesUnderTest())("_entities ($kind)", ({ kind, available }) => {
  let store: TestStore;
  let schema: GraphQLSchema;
  let secured: FastifyInstance;
  /** Known objects by type, from the store's own lists. */
  const known = new Map<string, Reference[]>();

  beforeAll(async () => {
    if (!available) return;
    store = await openTestStore(kind);
    await store.ingestEvents([...generateEvents({ events: 600, accounts: 3, seed: 21, days: 30 })]);
    schema = await buildTrailGraphSchema();
    secured = await createApp({
      dataSource: store.dataSource,
      schema,
      auth: authSettings({ TRAILGRAPH_JWT_SECRET: JWT_SECRET }),
      ingest: { token: null, maxBytes: 1024 * 1024 },
    });
    const lists = dataOf(
      await store.graphql(`{
        events(first: 80) { nodes { id eventId accountId } }
        orders(first: 40) { nodes { id orderId accountId } }
        resources(first: 40) { nodes { id type resourceId accountId } }
        accounts(first: 10) { nodes { id accountId identities(first: 15) { nodes { id ${IDENTITY_FIELDS} } } } }
      }`),
    );
    const add = (typename: string, nodes: any[], key: (node: any) => Record<string, unknown>) =>
      known.set(
        typename,
        nodes.map((node) => ({
          representation: { __typename: typename, ...key(node) },
          id: node.id,
          accountId: node.accountId ?? null,
        })),
      );
    add("Event", lists.events.nodes, ({ eventId }) => ({ eventId }));
    add("Order", lists.orders.nodes, ({ orderId }) => ({ orderId }));
    add("ReferencedResource", lists.resources.nodes, ({ type, resourceId }) => ({ type, resourceId }));
    add("Account", lists.accounts.nodes, ({ accountId }) => ({ accountId }));
    add(
      "UserIdentity",
      lists.accounts.nodes.flatMap((account: any) => account.identities.nodes),
      ({ type, accountId, principalId, userName, accessKeyId }) => ({
        type,
        accountId,
        principalId,
        userName,
        accessKeyId,
      }),
    );
    for (const [typename, references] of known) expect(references.length, typename).toBeGreaterThan(2);
  });
  afterAll(async () => {
    await secured?.close();
    await store?.close();
  });

  /** Representations that name nothing in the store, one or more of each type. */
  const unknown = (n: number): Reference[] =>
    [
      { __typename: "Event", eventId: `no-such-event-${n}` },
      { __typename: "Account", accountId: `99999999999${n}` },
      { __typename: "Order", orderId: `no-such-order-${n}` },
      { __typename: "ReferencedResource", type: "ACS::ECS::Instance", resourceId: `i-none${n}` },
      { __typename: "ReferencedResource", type: "ACS::Elsewhere::Thing", resourceId: `i-none${n}` },
      {
        __typename: "UserIdentity",
        type: "ram-user",
        accountId: `99999999999${n}`,
        principalId: "1",
        userName: "nobody",
        accessKeyId: null,
      },
      // Not a usable key: resolves to null, as an unknown key does.
      { __typename: "Event", eventId: 42 },
    ].map((representation) => ({ representation, id: null, accountId: null }));

  /** `count` references of every type mixed, unknown ones among them, in a fixed interleaving. */
  function mixed(count: number): Reference[] {
    const pools = [...known.values()].map((references) => [...references]);
    const out: Reference[] = [];
    for (let round = 0; out.length < count; round++) {
      if (round % 4 === 3) out.push(...unknown(round));
      for (const pool of pools) if (pool.length > 0) out.push(pool.shift()!);
      if (pools.every((pool) => pool.length === 0)) pools.push(...[...known.values()].map((r) => [...r]));
    }
    return out.slice(0, count);
  }

  async function entities(query: string, references: Reference[], credential?: string) {
    const before = store.statements();
    const response = await (credential ? secured : store.app).inject({
      method: "POST",
      url: "/graphql",
      headers: {
        "content-type": "application/json",
        ...(credential ? { authorization: `Bearer ${credential}` } : {}),
      },
      payload: JSON.stringify({ query, variables: { representations: references.map((r) => r.representation) } }),
    });
    const body = JSON.parse(response.body);
    expect(body.errors, response.body).toBeUndefined();
    return {
      answers: (body.data._entities as any[]).map(renameIdentityAccount),
      statements: store.statements() - before,
    };
  }

  it.skipIf(!available)(
    "answers each representation in order, null for unknown ones, with node(id:)'s IDs",
    async () => {
      const references = mixed(60);
      expect(references.some((reference) => reference.id === null)).toBe(true);
      const { answers } = await entities(ENTITIES, references);
      expect(answers).toEqual(expected(references));
      // node(id:) fetches the same objects back, through the same lookups.
      const ids = references.filter((r) => r.id !== null).map((r) => r.id!);
      const fetched = [];
      for (const id of ids) {
        fetched.push(dataOf(await store.graphql(`query ($id: ID!) { node(id: $id) { id } }`, { id })).node?.id);
      }
      expect(fetched).toEqual(ids);
    },
  );

  it.skipIf(!available)("costs one statement per type, for 1, 5 and 200 representations", async () => {
    const one = await entities(ENTITIES, [known.get("Event")![0]]);
    expect(one.answers).toEqual(expected([known.get("Event")![0]]));
    expect(one.statements).toBe(1);

    const oneOfEach = [...known.values()].map((references) => references[0]);
    const five = await entities(ENTITIES, oneOfEach);
    expect(five.answers).toEqual(expected(oneOfEach));
    expect(five.statements).toBe(Object.keys(ENTITY_TYPES).length);

    const references = mixed(200);
    expect(references).toHaveLength(200);
    expect(references.filter((r) => r.id === null).length).toBeGreaterThan(10);
    const many = await entities(ENTITIES, references);
    expect(many.answers).toEqual(expected(references));
    expect(many.statements).toBe(Object.keys(ENTITY_TYPES).length);

    // A level deeper (each event's identity): one statement more, for 5 as for 200.
    const nestedFive = await entities(NESTED, oneOfEach);
    const nestedMany = await entities(NESTED, references);
    expect(nestedMany.answers.filter((answer) => answer?.userIdentity).length).toBeGreaterThan(20);
    expect(nestedFive.statements).toBe(Object.keys(ENTITY_TYPES).length + 1);
    expect(nestedMany.statements).toBe(nestedFive.statements);
  });

  it.skipIf(!available)("resolves within the credential's accounts, in the same statements", async () => {
    const references = mixed(200);
    const accounts = [...new Set(references.map((r) => r.accountId).filter((a): a is string => a !== null))].sort();
    expect(accounts.length).toBeGreaterThan(1);
    const allowed = accounts[0];
    const all = await entities(ENTITIES, references, await token("*"));
    expect(all.answers).toEqual(expected(references));
    const restricted = await entities(ENTITIES, references, await token([allowed]));
    expect(restricted.answers).toEqual(expected(references, (reference) => reference.accountId === allowed));
    // Others' objects were there to be found: the scope, not the data, hid them.
    expect(restricted.answers.filter((answer) => answer !== null).length).toBeLessThan(
      all.answers.filter((answer) => answer !== null).length,
    );
    expect(restricted.answers.filter((answer) => answer !== null).length).toBeGreaterThan(0);
    expect(restricted.statements).toBe(all.statements);
    // node(id:) hides the same objects.
    const other = references.find((r) => r.id !== null && r.accountId !== allowed)!;
    const response = await secured.inject({
      method: "POST",
      url: "/graphql",
      headers: { "content-type": "application/json", authorization: `Bearer ${await token([allowed])}` },
      payload: JSON.stringify({ query: `query ($id: ID!) { node(id: $id) { id } }`, variables: { id: other.id } }),
    });
    expect(JSON.parse(response.body).data.node).toBeNull();
  });

  it.skipIf(!available)("runs compiled from the COMPILE_AFTER-th run on, answering as graphql-js does", async () => {
    const references = mixed(120);
    const runs = [];
    for (let run = 0; run < COMPILE_AFTER + 1; run++) runs.push(await entities(NESTED, references));
    for (const run of runs.slice(1)) expect(run).toEqual(runs[0]);
    // The runner itself: it compiles the operation and answers (null would mean graphql-js ran it).
    const runner = compiledRunner(schema);
    const document = parse(NESTED);
    const results = [];
    for (let run = 0; run < COMPILE_AFTER + 1; run++) {
      const before = store.statements();
      results.push({
        result: await runner({
          document,
          operation: getOperationAST(document)!,
          operationName: null,
          contextValue: new Context(store.dataSource, TenantScope.all()),
          variables: { representations: references.map((r) => r.representation) },
        }),
        statements: store.statements() - before,
      });
    }
    expect(results.slice(0, COMPILE_AFTER - 1).map((r) => r.result)).toEqual(Array(COMPILE_AFTER - 1).fill(null));
    for (const { result, statements } of results.slice(COMPILE_AFTER - 1)) {
      expect(result?.data?._entities).toEqual(runs[0].answers);
      expect(statements).toBe(runs[0].statements);
    }
  });

  it.skipIf(!available)(
    "answers `apollo-federation-include-trace: ftv1` with a trace of its fields, every run",
    async () => {
      const references = mixed(30);
      for (let run = 0; run < COMPILE_AFTER + 2; run++) {
        const response = await store.app.inject({
          method: "POST",
          url: "/graphql",
          headers: { "content-type": "application/json", "apollo-federation-include-trace": "ftv1" },
          payload: JSON.stringify({
            query: NESTED,
            variables: { representations: references.map((r) => r.representation) },
          }),
        });
        const body = JSON.parse(response.body);
        expect(body.errors).toBeUndefined();
        expect(typeof body.extensions?.ftv1, `run ${run}`).toBe("string");
        const trace = Trace.decode(Buffer.from(body.extensions.ftv1, "base64"));
        // The root field, and under it each representation's fields.
        const root = trace.root?.child ?? [];
        expect(
          root.map((node) => node.responseName),
          `run ${run}`,
        ).toEqual(["_entities"]);
        const fields = (root[0].child ?? []).flatMap((item) => (item.child ?? []).map((node) => node.responseName));
        expect(fields, `run ${run}`).toEqual(expect.arrayContaining(["eventId", "eventName", "userIdentity"]));
        expect(Number(trace.durationNs), `run ${run}`).toBeGreaterThan(0);
        expect(body.data._entities).toHaveLength(references.length);
      }
      // Without the header the same operation has no trace.
      const plain = await entities(NESTED, references);
      expect(plain.answers).toHaveLength(references.length);
    },
  );
});
