import { getOperationAST, parse, type DocumentNode, type GraphQLSchema } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Context } from "../../src/context";
import { TenantScope } from "../../src/db/scope";
import { generateEvents } from "../../src/generate/generator";
import { buildTrailGraphSchema } from "../../src/schema/build";
import { COMPILE_AFTER, compiledRunner } from "../../src/server/executor";
import { dataOf, openTestStore, type TestStore } from "../support/harness";

/**
 * The server runs an operation on graphql-js the first time and compiled (graphql-jit) from
 * the COMPILE_AFTER-th time on. Both must answer the same, data and errors alike.
 */
describe("compiled execution answers as graphql-js does", () => {
  let store: TestStore;
  let schema: GraphQLSchema;
  let accountId: string;
  let eventId: string;
  let cursor: string;
  let eventGlobalId: string;

  beforeAll(async () => {
    store = await openTestStore("sqlite");
    schema = await buildTrailGraphSchema();
    await store.ingestEvents([...generateEvents({ events: 400, accounts: 3, seed: 11, days: 20 })]);
    const first = dataOf(
      await store.graphql(
        `{ accounts(first: 1) { nodes { accountId } } events(first: 1) { edges { cursor node { id eventId } } } }`,
      ),
    );
    accountId = first.accounts.nodes[0].accountId;
    eventId = first.events.edges[0].node.eventId;
    eventGlobalId = first.events.edges[0].node.id;
    cursor = first.events.edges[0].cursor;
  });
  afterAll(async () => store?.close());

  const cases: Array<[name: string, query: string, variables: () => Record<string, unknown>]> = [
    [
      "an event page with cursors, identities, a DateTime window and an input object default",
      `query ($a: String!, $from: DateTime!, $o: EventOrder) {
        events(filter: { accountIds: [$a], from: $from }, first: 7, orderBy: $o) {
          edges { cursor node { eventId eventName eventTime eventType failed userIdentity { type userName } } }
          pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
          totalCount
        }
      }`,
      () => ({ a: accountId, from: "2025-01-05T00:00:00Z", o: { direction: "ASC" } }),
    ],
    [
      "one event, every kind of field: JSON, enums-as-strings, nested objects, the catalog",
      `query ($id: ID!) {
        event(eventId: $id) {
          eventId eventTime sourceIpAddress errorCode raw requestParameters
          definition { __typename }
          account { accountId }
          referencedResources { type resourceId }
          orders { orderId }
        }
      }`,
      () => ({ id: eventId }),
    ],
    [
      "account → orders → items → resource → events, with aliases and a fragment",
      `query ($a: ID!) {
        account(accountId: $a) {
          recent: orders(first: 5) { nodes { ...order } }
          eventCounts(by: EVENT_NAME, first: 3) { key count }
        }
      }
      fragment order on Order { orderId createdAt items { articleConfig resource { type resourceId events(first: 2) { nodes { eventId } } } } }`,
      () => ({ a: accountId }),
    ],
    [
      "node(id) through an interface, @include and @skip",
      `query ($id: ID!, $yes: Boolean!) {
        node(id: $id) { __typename id ... on Event { eventId eventName @include(if: $yes) eventType @skip(if: $yes) } }
      }`,
      () => ({ id: eventGlobalId, yes: true }),
    ],
    [
      "a cursor of another list: a user error with its path",
      `query ($after: String) { account(accountId: "x") { accountId } orders(first: 1, after: $after) { nodes { orderId } } }`,
      () => ({ after: cursor }),
    ],
    [
      "a variable of the wrong type",
      `query ($first: Int) { events(first: $first) { nodes { eventId } } }`,
      () => ({ first: "ten" }),
    ],
    [
      "an input object field that does not parse",
      `query ($f: EventFilter) { events(first: 2, filter: $f) { nodes { eventId } } }`,
      () => ({ f: { from: "not a time" } }),
    ],
    ["a page size out of range", `query { events(first: 501) { nodes { eventId } } }`, () => ({})],
    [
      "introspection",
      `query { __type(name: "EventOrder") { name inputFields { name defaultValue type { kind name ofType { name } } } } }`,
      () => ({}),
    ],
  ];

  it.each(cases)("%s", async (_name, query, variables) => {
    const answers = [];
    for (let run = 0; run < COMPILE_AFTER + 1; run++) answers.push(await store.graphql(query, variables()));
    expect(answers[0].data !== undefined || answers[0].errors !== undefined).toBe(true);
    for (const answer of answers.slice(1)) expect(answer).toEqual(answers[0]);
  });

  /** What Apollo Server hands the runner for an operation of `document`, with a fresh Context. */
  const requestFor = (document: DocumentNode, operationName: string, variables: Record<string, unknown> = {}) => ({
    document,
    operationName,
    operation: getOperationAST(document, operationName)!,
    contextValue: new Context(store.dataSource, TenantScope.all()),
    variables,
  });

  it("compiles an operation on its COMPILE_AFTER-th run, and keeps one compilation per operation name", async () => {
    const run = compiledRunner(schema);
    const document = parse(
      `query A { events(first: 2) { nodes { eventId } } } query B { accounts(first: 1) { nodes { accountId } } }`,
    );
    const runOperation = (operationName: string) => run(requestFor(document, operationName));
    const a = [];
    for (let i = 0; i < COMPILE_AFTER + 1; i++) a.push(await runOperation("A"));
    // null: not compiled (yet), Apollo Server executes it on graphql-js.
    expect(a.map((result) => result !== null)).toEqual([...Array(COMPILE_AFTER - 1).fill(false), true, true]);
    expect(a[COMPILE_AFTER - 1]).toEqual(a[COMPILE_AFTER]);
    expect(JSON.stringify(a[COMPILE_AFTER]?.data)).toMatch(/^\{"events":\{"nodes":\[\{"eventId":"[^"]+"\},/);
    // B counts its own runs: its first is not compiled.
    expect(await runOperation("B")).toBeNull();
  });

  it("leaves answers with errors, and variables that do not coerce, to graphql-js", async () => {
    const run = compiledRunner(schema);
    const document = parse(`query P($first: Int) { events(first: $first) { nodes { eventId } } }`);
    const runWith = (variables: Record<string, unknown>) => run(requestFor(document, "P", variables));
    for (let i = 0; i < COMPILE_AFTER; i++) await runWith({ first: 1 });
    expect((await runWith({ first: 1 }))?.data).toBeDefined();
    // A page size out of range: the resolver's user error.
    expect(await runWith({ first: 501 })).toBeNull();
    // Not an Int.
    expect(await runWith({ first: "ten" })).toBeNull();
  });
});
