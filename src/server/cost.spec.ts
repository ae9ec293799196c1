import {
  getIntrospectionQuery,
  getNamedType,
  getNullableType,
  isListType,
  isObjectType,
  parse,
  type GraphQLSchema,
} from "graphql";
import { beforeAll, describe, expect, it } from "vitest";
import { EVENT_CATALOG } from "../catalog";
import { buildTrailGraphSchema } from "../schema/build";
import {
  ASSUMED_LIST_SIZE,
  countTokens,
  EVENT_COUNTS_WEIGHT,
  fieldPrice,
  operationCost,
  PAYLOAD_WEIGHT,
  TOTAL_COUNT_WEIGHT,
  type CostReport,
} from "./cost";

let schema: GraphQLSchema;
beforeAll(async () => {
  schema = await buildTrailGraphSchema();
});

function report(query: string, variables: Record<string, unknown> = {}, operationName?: string): CostReport {
  const result = operationCost(schema, parse(query), operationName, variables);
  if (!result) throw new Error("no such operation");
  return result;
}
const cost = (query: string, variables: Record<string, unknown> = {}) => report(query, variables).cost;

describe("operationCost: prices", () => {
  it("prices objects at 1 and scalars at 0; a connection's page multiplies its edges and nodes", () => {
    expect(cost("{ __typename }")).toBe(0);
    expect(cost(`{ event(eventId: "x") { eventId eventName } }`)).toBe(1);
    expect(cost(`{ event(eventId: "x") { account { accountId } userIdentity { type } } }`)).toBe(3);
    // The connection (1), 20 events by default.
    expect(cost("{ events { nodes { eventId } } }")).toBe(1 + 20);
    expect(cost("{ events(first: 7) { nodes { eventId } } }")).toBe(1 + 7);
    expect(cost("{ events(last: 9) { nodes { eventId } } }")).toBe(1 + 9);
    // Edges and PageInfo are built from the page: free.
    expect(cost("{ events(first: 7) { edges { cursor node { eventId } } pageInfo { endCursor } } }")).toBe(1 + 7);
    // A connection asked for nothing but its page info still reads its page.
    expect(cost("{ events(first: 7) { pageInfo { hasNextPage } } }")).toBe(1);
    expect(cost("{ events(first: 0) { nodes { eventId } } }")).toBe(1);
  });

  it("multiplies through the nesting", () => {
    // account (1) + orders (1) + 20 orders × (1 + 5 items × (1 + resource 1 + events 1 + 10 × (event 1 + identity 1)))
    const query = `{ account(accountId: "a") { orders(first: 20) { nodes { orderId items { resource {
      events(first: 10) { nodes { eventId userIdentity { userName } } } } } } } } }`;
    expect(cost(query)).toBe(2 + 20 * (1 + ASSUMED_LIST_SIZE * (3 + 10 * 2)));
    expect(report(query).costliest).toBe("account.orders.nodes.items.resource.events.nodes");
  });

  it("prices counts, aggregations and the JSON payloads; the catalog is in memory", () => {
    expect(cost("{ events { totalCount } }")).toBe(1 + TOTAL_COUNT_WEIGHT);
    expect(cost("{ eventCounts(by: EVENT_NAME) { key count } }")).toBe(EVENT_COUNTS_WEIGHT);
    expect(cost("{ eventCounts(by: EVENT_NAME, first: 500) { key count } }")).toBe(EVENT_COUNTS_WEIGHT);
    expect(cost(`{ accounts(first: 3) { nodes { eventCounts(by: REGION) { key } } } }`)).toBe(
      1 + 3 * (1 + EVENT_COUNTS_WEIGHT),
    );
    expect(cost("{ events(first: 2) { nodes { raw requestParameters } } }")).toBe(1 + 2 * (1 + 2 * PAYLOAD_WEIGHT));
    expect(cost("{ eventCatalog { eventName description } }")).toBe(0);
  });

  it("takes page sizes from variables, their defaults, and the argument's own default; counts at most 500", () => {
    const query = "query ($n: Int = 3) { events(first: $n) { nodes { eventId } } }";
    expect(cost(query, { n: 12 })).toBe(1 + 12);
    expect(cost(query)).toBe(1 + 3);
    expect(report(query).variablesUsed).toBe(true);
    expect(report("{ events(first: 4) { nodes { eventId } } }").variablesUsed).toBe(false);
    // The resolver refuses 501 itself; the cost counts what could be read.
    expect(cost("{ events(first: 100000) { nodes { eventId } } }")).toBe(1 + 500);
    expect(cost("query ($n: Int) { events(first: $n) { nodes { eventId } } }", { n: -4 })).toBe(1);
    expect(cost(`query ($n: Int) { events(first: $n) { nodes { eventId } } }`, { n: "ten" })).toBe(1 + 20);
  });

  it("prices lists without a bound at their assumed size", () => {
    expect(cost(`{ event(eventId: "x") { referencedResources { type } orders { orderId } } }`)).toBe(
      1 + 2 * ASSUMED_LIST_SIZE,
    );
    expect(cost(`{ order(orderId: "x") { resources { type } items { articleConfig } } }`)).toBe(
      1 + 2 * ASSUMED_LIST_SIZE,
    );
  });

  it("prices every list field of the schema on purpose", () => {
    const unpriced: string[] = [];
    for (const type of Object.values(schema.getTypeMap())) {
      if (!isObjectType(type) || type.name.startsWith("__")) continue;
      for (const field of Object.values(type.getFields())) {
        const listed = isListType(getNullableType(field.type));
        const price = fieldPrice(type, field);
        const connection = getNamedType(field.type).name.endsWith("Connection");
        if (connection && !price?.slicingArguments) unpriced.push(`${type.name}.${field.name} (connection)`);
        // A connection's edges and nodes take the connection's size.
        if (listed && !price && !type.name.endsWith("Connection")) unpriced.push(`${type.name}.${field.name}`);
      }
    }
    expect(unpriced).toEqual([]);
    expect(fieldPrice(schema.getQueryType()!, schema.getQueryType()!.getFields().eventCatalog)?.assumedSize).toBe(
      EVENT_CATALOG.length,
    );
  });
});

describe("operationCost: federation", () => {
  it("prices _entities by the representations a gateway sends", () => {
    const entities = `query($r: [_Any!]!) { _entities(representations: $r) {
      ... on ReferencedResource { events(first: 5) { nodes { eventId } } } } }`;
    const representations = (n: number) =>
      Array.from({ length: n }, (_, i) => ({
        __typename: "ReferencedResource",
        type: "ACS::ECS::Instance",
        resourceId: `i-${i}`,
      }));
    // Each: the resource (1) and a page of 5 events (1 + 5).
    expect(cost(entities, { r: representations(1) })).toBe(7);
    expect(cost(entities, { r: representations(200) })).toBe(200 * 7);
    expect(
      cost(`{ _entities(representations: [{ __typename: "Account", accountId: "1" }, { __typename: "Account", accountId: "2" }]) {
        ... on Account { accountId } } }`),
    ).toBe(2);
  });
});

describe("operationCost: the operation as execution sees it", () => {
  it("resolves fragments, merges fields of one response name, and takes the costliest type of an interface", () => {
    const merged = `
      fragment A on Event { eventId userIdentity { type } }
      fragment B on Event { userIdentity { userName } }
      { events(first: 10) { nodes { ...A ...B ...A ... on Event { userIdentity { type } } } } }`;
    expect(cost(merged)).toBe(1 + 10 * 2);
    expect(cost(`{ events(first: 10) { nodes { a: userIdentity { type } b: userIdentity { type } } } }`)).toBe(
      1 + 10 * 3,
    );
    const node = `{ node(id: "x") { id ... on Event { account { accountId } } ... on Account { events(first: 30) { nodes { eventId } } } } }`;
    expect(cost(node)).toBe(1 + 1 + 30);
    expect(cost(`{ node(id: "x") { ... on Node { id } ... on Order { items { articleConfig } } } }`)).toBe(
      1 + ASSUMED_LIST_SIZE,
    );
  });

  it("leaves out what @skip and @include leave out, but counts it as written for the other measures", () => {
    const query = `query ($more: Boolean!) {
      events(first: 50) { nodes { eventId u: userIdentity @include(if: $more) { type } } }
      e: events(first: 50) @skip(if: true) { nodes { eventId } }
    }`;
    expect(cost(query, { more: false })).toBe(1 + 50);
    expect(cost(query, { more: true })).toBe(1 + 50 * 2);
    expect(report(query, { more: false })).toMatchObject({ aliases: 2, directives: 2 });
  });

  it("picks the named operation", () => {
    const query = `query Small { events(first: 1) { nodes { eventId } } } query Large { events(first: 400) { nodes { eventId } } }`;
    expect(report(query, {}, "Small").cost).toBe(2);
    expect(report(query, {}, "Large").cost).toBe(401);
    expect(operationCost(schema, parse(query), "Missing", {})).toBeNull();
    expect(operationCost(schema, parse(query), undefined, {})).toBeNull();
  });

  it("leaves introspection free and out of the depth", () => {
    const introspection = report(getIntrospectionQuery({ descriptions: true, inputValueDeprecation: true }));
    expect(introspection).toMatchObject({ cost: 0, depth: 0 });
    expect(
      report(`{ __type(name: "Event") { fields { name } } events(first: 2) { nodes { eventId } } }`),
    ).toMatchObject({ cost: 3, depth: 3 });
  });
});

describe("operationCost: depth, aliases, directives, repeats and tokens", () => {
  it("measures depth and names the deepest field", () => {
    const deep = report(`{ events { nodes { account { events { edges { node { eventId } } } } } } }`);
    expect(deep.depth).toBe(7);
    expect(deep.deepest).toBe("events.nodes.account.events.edges.node.eventId");
    expect(report("{ __typename }").depth).toBe(1);
  });

  it("counts aliases where fragments are spread, and names the field aliased most", () => {
    const aliases = report(`
      fragment Pages on Query { a: events(first: 1) { nodes { eventId } } b: events(first: 2) { nodes { eventId } } }
      { ...Pages account(accountId: "x") { x: accountId } n: node(id: "y") { id } }`);
    expect(aliases.aliases).toBe(4);
    expect(aliases.mostAliased).toBe("events");
    const nested = report(
      `{ account(accountId: "x") { a: events { totalCount } b: events { totalCount } c: orders { totalCount } } }`,
    );
    expect(nested.mostAliased).toBe("account.events");
  });

  it("counts directives, fragments' too, and names where most of them are", () => {
    const directives = report(`query ($t: Boolean!) {
      events(first: 1) { nodes { eventId @include(if: $t) eventName @skip(if: $t) @include(if: $t) } }
      ... @include(if: $t) { accounts { totalCount } }
    }`);
    expect(directives.directives).toBe(4);
    expect(directives.mostDirectives).toBe("events.nodes.eventName");
  });

  it("counts how often one response name is selected in one place, through fragments and merged parents", () => {
    const repeats = report(`
      fragment F on Event { eventId }
      { events { nodes { eventId ...F ... on Event { eventId } } } e2: events { nodes { eventId } } events { nodes { eventId } } }`);
    // events × 2 at the root; under the merged events, nodes × 2 and eventId × 4.
    expect(repeats.repeats).toBe(4);
    expect(repeats.mostRepeated).toBe("events.nodes.eventId");
    expect(report("{ events { totalCount } }").repeats).toBe(0);
  });

  it("counts tokens as graphql's parser does for maxTokens, comments left out", () => {
    const text = `# a comment
      query Q($n: Int) { events(first: $n) { nodes { eventId } } }`;
    expect(report(text).tokens).toBe(countTokens(text));
    for (const limit of [countTokens(text) - 1, countTokens(text)]) {
      const refused = (() => {
        try {
          parse(text, { maxTokens: limit });
          return false;
        } catch {
          return true;
        }
      })();
      expect(refused).toBe(countTokens(text) > limit);
    }
    // Counting stops past the limit asked for.
    expect(countTokens("{ a b c d e f g }", 3)).toBe(4);
    // A text the lexer cannot read is counted up to its error.
    expect(countTokens('{ a "unterminated')).toBe(2);
  });
});

describe("operationCost before validation", () => {
  it("does not throw on unknown fields, unknown or cyclic fragments and wrong argument types", () => {
    const invalid = report(`
      fragment A on Event { account { events { nodes { ...B } } } }
      fragment B on Event { ...A bogus { x } }
      { events(first: "many") { nodes { ...A ...Missing ... on Nothing { y } } } unknown(first: 3) { z } }`);
    expect(invalid.cost).toBeGreaterThan(0);
    expect(invalid.depth).toBeGreaterThan(3);
  });

  it("stays linear on fragments that multiply (a 'billion laughs' document)", () => {
    const levels = 40;
    const fragments = Array.from(
      { length: levels },
      (_, i) =>
        `fragment F${i} on Event { a: account { events(first: 2) { nodes { ...F${i + 1} } } } b: account { events(first: 2) { nodes { ...F${i + 1} } } } }`,
    ).join("\n");
    const query = `${fragments}\nfragment F${levels} on Event { eventId }\n{ events(first: 2) { nodes { ...F0 } } }`;
    const started = performance.now();
    const laughs = report(query);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(laughs.cost).toBeGreaterThan(2 ** levels);
    expect(laughs.aliases).toBeGreaterThan(2 ** levels);
    expect(laughs.depth).toBe(2 + levels * 3 + 1);
  });
});
