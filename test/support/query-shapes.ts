/**
 * Queries the query cost limits must let through (the README's, GraphiQL's welcome query, the
 * benchmark's four operations, a dashboard) and the abusive shapes they must refuse, for
 * test/server/cost.spec.ts and bench/refusals.ts.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { OPERATIONS } from "../../bench/operations";
import { WELCOME_QUERY } from "../../src/server/graphiql";

export interface Shape {
  name: string;
  query: string;
  variables?: Record<string, unknown>;
}

const ROOT = join(__dirname, "..", "..");
const ACCOUNT = "151266687691****";

/**
 * Every query the README shows: its ```graphql blocks and the queries of its curl commands
 * (`"query": "..."` bodies and `query=...` parameters), read from the file so that a query
 * added to it is checked too.
 */
export function readmeQueries(): Shape[] {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const shapes: Shape[] = [];
  for (const [, query] of readme.matchAll(/```graphql\n([\s\S]*?)```/g)) shapes.push({ name: "README block", query });
  for (const [, json] of readme.matchAll(/"query": ("(?:[^"\\]|\\.)*")/g))
    shapes.push({ name: "README curl POST", query: JSON.parse(json) as string });
  for (const [, query] of readme.matchAll(/'query=(\{.*\})'/g)) shapes.push({ name: "README curl GET", query });
  return shapes;
}

/** The example of each field's description in schema.graphql (`Example: \`{ ... }\``). */
export function schemaExamples(): Shape[] {
  const sdl = readFileSync(join(ROOT, "schema.graphql"), "utf8");
  return [...sdl.matchAll(/Example: `(\{.*\})`$/gm)].map(([, query]) => ({ name: `schema example ${query}`, query }));
}

/** A dashboard: an events page of 50 with identities and resources, the order walk, five counts. */
export const DASHBOARD: Shape = {
  name: "dashboard",
  query: `query Dashboard($account: ID!, $accounts: [String!], $from: DateTime!) {
    events(filter: { accountIds: $accounts, from: $from }, first: 50) {
      totalCount
      edges {
        cursor
        node {
          eventId eventName eventTime eventType errorCode sourceIpAddress
          userIdentity { type userName principalId accessKeyId }
          referencedResources { type resourceId }
        }
      }
      pageInfo { hasNextPage endCursor }
    }
    account(accountId: $account) {
      orders(first: 20) {
        nodes {
          orderId createdAt
          items { articleConfig resource { type resourceId events(first: 5) { nodes { eventId eventName eventTime userIdentity { userName } } } } }
        }
      }
      byName: eventCounts(by: EVENT_NAME, filter: { from: $from }, first: 10) { key count }
      byService: eventCounts(by: SERVICE_NAME, filter: { from: $from }, first: 10) { key count }
      byRegion: eventCounts(by: REGION, filter: { from: $from }, first: 10) { key count }
      byError: eventCounts(by: ERROR_CODE, filter: { from: $from }, first: 10) { key count }
      bySource: eventCounts(by: SOURCE_IP_ADDRESS, filter: { from: $from }, first: 10) { key count }
    }
  }`,
  variables: { account: ACCOUNT, accounts: [ACCOUNT], from: "2021-01-01T00:00:00Z" },
};

/** What a client of the API asks: the README, the schema's examples, GraphiQL, the benchmark, a dashboard. */
export function legitimateQueries(): Shape[] {
  const variables: Record<string, unknown> = {
    a: ACCOUNT,
    id: "2546c4b7-6e58-4d83-8a1d-6a2c0e1b7f3a",
    from: "2021-08-01T00:00:00Z",
    to: "2021-08-08T00:00:00Z",
    from90: "2021-05-03T00:00:00Z",
  };
  return [
    ...readmeQueries(),
    ...schemaExamples(),
    { name: "GraphiQL's welcome query", query: WELCOME_QUERY },
    ...OPERATIONS.map((op) => ({
      name: `benchmark ${op.key}: ${op.title}`,
      query: op.query,
      variables: Object.fromEntries(Object.entries(variables).filter(([name]) => op.query.includes(`$${name}:`))),
    })),
    DASHBOARD,
  ];
}

export interface AbusiveShape extends Shape {
  /** The code the defaults refuse it with, and the field they name. */
  code: string;
  field: string;
}

const FIVE_LEVELS =
  `{ event(eventId: "2546c4b7-6e58-4d83-8a1d-6a2c0e1b7f3a") { ${"account { events { nodes { ".repeat(5)}` +
  `eventId eventName eventTime userIdentity { userName } ${"} } } ".repeat(5)}} }`;

/** The shapes of the issue, each with what the defaults answer. */
export const ABUSIVE: readonly AbusiveShape[] = [
  {
    name: "event → account → events, five levels, default page size",
    query: FIVE_LEVELS,
    code: "OPERATION_TOO_DEEP",
    field: "event" + ".account.events.nodes".repeat(5) + ".userIdentity.userName",
  },
  {
    name: "a four-level first: 500 fan-out",
    query: `{ accounts(first: 500) { nodes { events(first: 500) { nodes { referencedResources {
      events(first: 500) { nodes { userIdentity { events(first: 500) { nodes { eventId } } } } } } } } } } }`,
    code: "OPERATION_TOO_COSTLY",
    field: "accounts.nodes.events.nodes.referencedResources.events.nodes.userIdentity.events.nodes",
  },
  {
    name: "1,000 aliases of a list with distinct arguments",
    query: `{ ${Array.from({ length: 1000 }, (_, i) => `e${i}: events(first: ${(i % 500) + 1}) { nodes { eventId } }`).join(" ")} }`,
    code: "TOO_MANY_TOKENS",
    field: "",
  },
  {
    name: "50 aliases of eventCounts",
    query: `{ ${Array.from({ length: 50 }, (_, i) => `c${i}: eventCounts(by: EVENT_NAME, first: ${i + 1}) { key count }`).join(" ")} }`,
    code: "OPERATION_TOO_COSTLY",
    field: "c0:eventCounts",
  },
];
