import { getOperationAST, parse, type GraphQLSchema } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Context } from "../../src/context";
import { generateEvents } from "../../src/generate/generator";
import { buildTrailGraphSchema } from "../../src/schema/build";
import { COMPILE_AFTER, compilingExecutor } from "../../src/server/executor";
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

  it("compiles an operation on its COMPILE_AFTER-th run, and keeps one compilation per operation name", async () => {
    const execute = compilingExecutor(schema);
    const document = parse(
      `query A { events(first: 2) { nodes { eventId } } } query B { accounts(first: 1) { nodes { accountId } } }`,
    );
    const run = async (operationName: string) => {
      const request = {
        document,
        operationName,
        operation: getOperationAST(document, operationName)!,
        context: new Context(store.dataSource),
        request: { variables: {} },
      };
      // graphql-js builds results from null-prototype objects, graphql-jit from object literals.
      const result = await execute(request as unknown as Parameters<typeof execute>[0]);
      return { compiled: Object.getPrototypeOf(result.data) === Object.prototype, data: JSON.stringify(result.data) };
    };
    const a = [];
    for (let i = 0; i < COMPILE_AFTER + 1; i++) a.push(await run("A"));
    expect(a.map((r) => r.compiled)).toEqual([...Array(COMPILE_AFTER - 1).fill(false), true, true]);
    expect(new Set(a.map((r) => r.data)).size).toBe(1);
    // B counts its own runs: its first is not compiled.
    expect((await run("B")).compiled).toBe(false);
  });
});
