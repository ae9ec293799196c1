/**
 * Issue 15: the tenant scope holds on every path of the schema. The walk is generated from
 * introspection (test/support/schema-walk.ts): every field reachable from Query, nested lists
 * included, lookups fed with the IDs of every account's objects. A caller restricted to one
 * account must see nothing of another account, nor anything that belongs to no account, and
 * every count must be that account's alone; an unrestricted caller, walked the same way, must
 * see all of it (else the walk proves nothing).
 *
 * The data: three accounts in a ring, each account X with the next one Y, so that every
 * cross-account link exists in both directions for each account:
 * - X's events reference a resource Y owns (Y named it first) and name an order Y owns;
 * - X's order has an item whose resource Y owns;
 * - X's event purchases an order that Y's event named earlier (the purchase makes it X's, so
 *   an order's purchase event is always of its own account, and Y's event names X's order);
 * - a system identity without an account acts for every account and for events of none;
 * - events of no account reference an account's resource and name an account's order;
 * - rejected records hold every account's text.
 * Everything only one account has carries its tag (`alpha`, `bravo`, `charlie`; its account ID
 * too) and everything of no account `noacct`, so that a leak shows in any field, a payload or
 * a global ID; what accounts share has neutral names, and shows as an object whose accountId
 * is another account's or null.
 */
import { buildSchema, graphql, type GraphQLSchema } from "graphql";
import type { DataSource } from "typeorm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Context } from "../../src/context";
import { TenantScope } from "../../src/db/scope";
import { ENTITY_TYPES } from "../../src/resolvers/entities";
import { ingest } from "../../src/ingest/ingest";
import { bufferSource } from "../../src/ingest/sources";
import { buildTrailGraphSchema } from "../../src/schema/build";
import { openTestStore, type TestStore } from "../support/harness";
import { buildEvent, ramUser, rootAccount, type ActionTrailEvent } from "../support/event-builder";
import {
  collectObjects,
  fieldOf,
  forEachObject,
  forEachString,
  introspect,
  SchemaWalker,
  variantOf,
  type ObjectPool,
  type WalkOperation,
} from "../support/schema-walk";
import { storesUnderTest } from "../support/stores";

const TAGS = ["alpha", "bravo", "charlie"] as const;
const ACCOUNTS = TAGS.map((tag, index) => `${tag}-account-${index + 1}`);
const [ALPHA] = ACCOUNTS;
/** In every value of an event of no account. */
const NO_ACCOUNT = "noacct";
/** In every rejected record. */
const REJECTED = "reject-marker";

/** The platform acting for every account, and for events of none: an identity without an account. */
const SHARED_IDENTITY = { type: "system", principalId: "shared-platform", userName: "shared-platform" };

/** An order each account's early event names (digits: order IDs are). */
const namedOrder = (index: number) => `7000${index + 1}`;
/** An order each account buys, with an item of its own and one of the next account's. */
const boughtOrder = (index: number) => `7100${index + 1}`;
const NO_ACCOUNT_ORDER = "79999";
const INSTANCE = "ACS::ECS::Instance";

const PAGE = 50;
/** The probe window: whole days 08-01 to 08-09 (an 8-day period and a day) and two partial days. */
const WINDOW = { from: "2021-07-31T12:00:00Z", to: "2021-08-10T12:00:00Z" };

interface Dataset {
  /** Ingested first: whoever names an object first owns it. */
  owners: unknown[];
  /** Ingested next: events that reach into other accounts' objects. */
  crossing: unknown[];
  /** Owning account of each event (null: none). */
  ownerOf: Map<string, string | null>;
}

function dataset(): Dataset {
  const owners: ActionTrailEvent[] = [];
  const crossing: ActionTrailEvent[] = [];
  const ownerOf = new Map<string, string | null>();
  const add = (into: ActionTrailEvent[], owner: string | null, event: ActionTrailEvent) => {
    into.push(event);
    ownerOf.set(event.eventId, owner);
  };
  TAGS.forEach((tag, i) => {
    const account = ACCOUNTS[i];
    const next = (i + 1) % TAGS.length;
    const user = ramUser(`${tag}-user`, account, `LTAI-${tag}-key`);
    const own = (n: number, overrides: Record<string, unknown>) => ({
      eventId: `${tag}-event-${n}`,
      requestId: `${tag}-request-${n}`,
      recipientAccountId: account,
      userIdentity: user,
      sourceIpAddress: `${tag}-ip`,
      userAgent: `${tag}-agent`,
      acsRegion: `${tag}-region`,
      ...overrides,
    });
    // Names its resources and its order first: owns them.
    add(
      owners,
      account,
      buildEvent(
        own(1, {
          eventTime: `2021-07-31T18:0${i}:00Z`,
          eventName: `${tag}RunInstances`,
          referencedResources: { [INSTANCE]: [`i-${tag}-own`, `i-ring-${i}`, `i-item-${i}`] },
        }),
      ),
    );
    add(
      owners,
      account,
      buildEvent(
        own(2, {
          eventTime: `2021-08-01T08:0${i}:00Z`,
          eventName: "QueryOrders",
          serviceName: "BssOpenApi",
          eventSource: "business.aliyuncs.com",
          userIdentity: rootAccount(account),
          requestParameters: { OrderId: namedOrder(i), Note: `${tag}-query` },
        }),
      ),
    );
    // The platform, for this account.
    add(
      owners,
      account,
      buildEvent(
        own(3, {
          eventTime: `2021-08-02T10:0${i}:00Z`,
          eventName: `${tag}AutoRenew`,
          eventType: "AliyunServiceEvent",
          userIdentity: SHARED_IDENTITY,
        }),
      ),
    );
    // Buys an order: an item of its own, and one whose resource the next account owns.
    add(
      crossing,
      account,
      buildEvent(
        own(4, {
          eventTime: `2021-08-05T09:0${i}:00Z`,
          eventName: "Create",
          referencedResources: { [INSTANCE]: [`i-${tag}-own`, `i-item-${next}`] },
          additionalEventData: {
            orderIds: boughtOrder(i),
            [boughtOrder(i)]: {
              resourceId: `i-${tag}-own,i-item-${next}`,
              articleConfig: { InstanceType: "ecs.g6.large", Note: `${tag}-config` },
            },
          },
        }),
      ),
    );
    // References the next account's resource, and places (purchases) the next account's order.
    add(
      crossing,
      account,
      buildEvent(
        own(5, {
          eventTime: `2021-08-09T11:0${i}:00Z`,
          eventName: "Create",
          referencedResources: { [INSTANCE]: [`i-ring-${next}`] },
          additionalEventData: { orderIds: namedOrder(next) },
        }),
      ),
    );
    add(
      crossing,
      account,
      buildEvent(
        own(6, {
          eventTime: `2021-08-10T05:0${i}:00Z`,
          eventName: `${tag}DeleteInstance`,
          errorCode: `${tag}-denied`,
          errorMessage: `${tag} may not`,
        }),
      ),
    );
  });
  const none = (n: number, overrides: Record<string, unknown>) =>
    buildEvent({
      eventId: `${NO_ACCOUNT}-event-${n}`,
      requestId: `${NO_ACCOUNT}-request-${n}`,
      eventName: `${NO_ACCOUNT}Operation`,
      userIdentity: SHARED_IDENTITY,
      recipientAccountId: undefined,
      sourceIpAddress: `${NO_ACCOUNT}-ip`,
      acsRegion: `${NO_ACCOUNT}-region`,
      ...overrides,
    });
  // No account: references the first account's resource, names its order and an order of none.
  add(
    owners,
    null,
    none(1, {
      eventTime: "2021-07-31T20:00:00Z",
      referencedResources: { [INSTANCE]: [`i-${NO_ACCOUNT}-resource`, "i-ring-0"] },
    }),
  );
  add(
    owners,
    null,
    none(2, {
      eventTime: "2021-08-05T12:00:00Z",
      serviceName: "BssOpenApi",
      requestParameters: { OrderId: NO_ACCOUNT_ORDER },
    }),
  );
  add(
    crossing,
    null,
    none(3, {
      eventTime: "2021-08-10T06:30:00Z",
      serviceName: "BssOpenApi",
      requestParameters: { OrderId: namedOrder(0) },
    }),
  );
  const rejects = [
    {
      eventId: 12345,
      eventTime: "2021-08-03T00:00:00Z",
      requestId: `${TAGS[1]}-${REJECTED}`,
      recipientAccountId: ACCOUNTS[1],
    },
    { eventName: `${TAGS[2]}-${REJECTED}`, recipientAccountId: ACCOUNTS[2] },
    `${TAGS[0]}-${REJECTED}`,
  ];
  return { owners: [...owners, ...rejects], crossing, ownerOf };
}

interface Answer {
  label: string;
  operation: WalkOperation;
  data: Record<string, unknown>;
}

/** Runs a walk's operations in one scope (a new Context per execution, as per request); fails on any error. */
async function runWalk(
  schema: GraphQLSchema,
  dataSource: DataSource,
  scope: () => TenantScope,
  operations: readonly WalkOperation[],
): Promise<Answer[]> {
  const answers: Answer[] = [];
  for (const operation of operations) {
    for (const variableValues of operation.variables) {
      const result = await graphql({
        schema,
        source: operation.source,
        variableValues,
        contextValue: new Context(dataSource, scope()),
      });
      const label = `${operation.rootField}${Object.keys(variableValues).length ? ` ${JSON.stringify(variableValues)}` : ""}`;
      if (result.errors?.length) {
        throw new Error(`${label}: ${JSON.stringify(result.errors.slice(0, 3))}`);
      }
      answers.push({ label, operation, data: result.data as Record<string, unknown> });
    }
  }
  return answers;
}

/** A string and, when it could be one, its base64url decoding (global IDs, cursors). */
function readings(text: string): string[] {
  if (!/^[A-Za-z0-9_-]{8,}$/.test(text)) return [text];
  return [text, Buffer.from(text, "base64url").toString("utf8")];
}

/** Whether an object has a field selected, whatever its alias. */
function has(object: Record<string, any>, name: string): boolean {
  return Object.keys(object).some((key) => fieldOf(key) === name);
}

/** An object's field, whatever its alias (`accountId__Account` in a `node` answer). */
function fieldOfObject(object: Record<string, any>, name: string): unknown {
  const key = Object.keys(object).find((candidate) => fieldOf(candidate) === name);
  return key === undefined ? undefined : object[key];
}

/** Markers whose appearance in an answer means a leak for a caller of `account`. */
function foreignMarkers(account: string): string[] {
  return [
    ...TAGS.filter((_, index) => ACCOUNTS[index] !== account),
    ...ACCOUNTS.filter((other) => other !== account),
    NO_ACCOUNT,
    REJECTED,
  ];
}

/** Types that belong to no account: a restricted caller sees none of them. */
const ACCOUNTLESS_TYPES = new Set(["IngestReject"]);

/**
 * What a caller allowed only `account` must not get, as readable findings: another account's
 * or no account's marker in any string, an object whose accountId is not `account`, an
 * object of no account. Counts are checked by `countFindings` for every caller.
 */
function leakFindings(answers: readonly Answer[], account: string): string[] {
  const markers = foreignMarkers(account).map((marker) => marker.toLowerCase());
  const findings: string[] = [];
  for (const { label, data } of answers) {
    forEachString(data, (text, path) => {
      for (const reading of readings(text)) {
        const lower = reading.toLowerCase();
        const marker = markers.find((candidate) => lower.includes(candidate));
        if (marker) findings.push(`${label} ${path}: ${JSON.stringify(reading.slice(0, 120))} holds "${marker}"`);
      }
    });
    forEachObject(data, (object, path) => {
      if (has(object, "accountId") && fieldOfObject(object, "accountId") !== account) {
        findings.push(
          `${label} ${path}: ${object.__typename} of account ${JSON.stringify(fieldOfObject(object, "accountId"))}`,
        );
      }
      if (ACCOUNTLESS_TYPES.has(object.__typename)) findings.push(`${label} ${path}: an ${object.__typename}`);
    });
  }
  return findings;
}

/**
 * Counts that disagree with what the same answer lists: a whole connection's totalCount and
 * its nodes and edges; the sum of `<x>Counts` (every value, most frequent first) and the
 * totalCount of its sibling `<x>s` with the same variant of arguments (where the walk selected
 * both: a leaves-only selection has no list). `checked` says how many sums were compared.
 */
function countFindings(answers: readonly Answer[]): { findings: string[]; checked: number } {
  const findings: string[] = [];
  let checked = 0;
  for (const { label, data } of answers) {
    forEachObject(data, (object, path) => {
      if ("totalCount" in object && object.pageInfo && !object.pageInfo.hasNextPage) {
        if (object.pageInfo.hasPreviousPage) findings.push(`${label} ${path}: a first page with a previous one`);
        for (const list of ["nodes", "edges"]) {
          if (list in object && object[list].length !== object.totalCount) {
            findings.push(`${label} ${path}: totalCount ${object.totalCount}, ${object[list].length} ${list}`);
          }
        }
      }
      for (const [key, value] of Object.entries(object)) {
        if (!Array.isArray(value) || !value.some((entry) => typeof entry?.count === "number")) continue;
        const listed = fieldOf(key).replace(/Counts$/, "s");
        if (listed === fieldOf(key)) {
          findings.push(`${label} ${path}.${key}: counts of what? (no <x>Counts name: teach countFindings)`);
          continue;
        }
        const sibling = Object.keys(object).find(
          (other) => fieldOf(other) === listed && variantOf(other) === variantOf(key),
        );
        if (!sibling) continue;
        const sum = value.reduce((total: number, entry: { count: number }) => total + entry.count, 0);
        if (value.length >= PAGE)
          findings.push(`${label} ${path}.${key}: ${value.length} values, more than the walk sees`);
        if (sum !== object[sibling].totalCount) {
          findings.push(`${label} ${path}.${key}: counts sum to ${sum}, ${sibling} has ${object[sibling].totalCount}`);
        }
        checked += 1;
      }
    });
  }
  return { findings, checked };
}

/** A GraphQL object, or a list of them (else a leaf: a scalar, null, a JSON value, an empty list). */
function isGraphQLValue(value: unknown): boolean {
  const isObject = (item: unknown) => item !== null && typeof item === "object" && "__typename" in item;
  return Array.isArray(value) ? value.some(isObject) : isObject(value);
}

/** The leaves of `object` (as `like` has them: a related object that one of them hides is no leaf), as text. */
function leavesText(object: Record<string, any>, like: Record<string, any>): string {
  return JSON.stringify(
    Object.keys(like)
      .filter((key) => !isGraphQLValue(like[key]))
      .map((key) => [key, object[key]]),
  );
}

/**
 * Each lookup (a root field fed from the data) answered for a caller allowed `account` and
 * for everyone, the same operations in the same order: null for an object of another account
 * or of none, as for one that does not exist; the same object for one of the account's own.
 */
function lookupFindings(
  restricted: readonly Answer[],
  everything: readonly Answer[],
  account: string,
): { findings: string[]; own: number; hidden: number } {
  const findings: string[] = [];
  let own = 0;
  let hidden = 0;
  restricted.forEach((answer, index) => {
    const all = everything[index];
    if (all?.label !== answer.label) throw new Error(`answers out of step at ${answer.label}`);
    if (!answer.operation.source.includes("$")) return;
    const field = answer.operation.rootField;
    // A lookup answers one object; `_entities` a list of them, one per representation.
    const [mineAll, theirsAll] = [answer.data[field], all.data[field]] as Array<any>;
    const pairs: Array<[Record<string, any> | null, Record<string, any> | null, string]> = Array.isArray(theirsAll)
      ? theirsAll.map((theirs, i) => [mineAll?.[i] ?? null, theirs, `${field}[${i}]`])
      : [[mineAll, theirsAll, answer.label]];
    for (const [mine, theirs, label] of pairs) {
      if (theirs === null) {
        if (mine !== null) findings.push(`${label}: answers what does not exist`);
        continue;
      }
      if (!has(theirs, "accountId"))
        throw new Error(`${label}: a ${theirs.__typename} has no accountId to tell its owner`);
      if (fieldOfObject(theirs, "accountId") === account) {
        own += 1;
        if (mine === null) findings.push(`${label}: the account's own ${theirs.__typename} answers null`);
        else if (leavesText(mine, theirs) !== leavesText(theirs, theirs)) {
          findings.push(`${label}: the account's own ${theirs.__typename} answers other values`);
        }
      } else {
        hidden += 1;
        if (mine !== null)
          findings.push(`${label}: a ${theirs.__typename} of ${fieldOfObject(theirs, "accountId")} answers`);
      }
    }
  });
  return { findings, own, hidden };
}

/**
 * Where an object's owner differs from its nearest owned ancestor's, as `Ancestor.field →
 * Type`: the cross-account links the walk crossed.
 */
function crossings(answers: readonly Answer[]): Set<string> {
  const found = new Set<string>();
  for (const { data } of answers) {
    forEachObject(data, (object, path, ancestors) => {
      if (!has(object, "accountId")) return;
      const owner = [...ancestors].reverse().find((ancestor) => has(ancestor.object, "accountId"));
      if (!owner || fieldOfObject(owner.object, "accountId") === fieldOfObject(object, "accountId")) return;
      const via = fieldOf(path.slice(owner.path.length + 1).split(/[.[]/)[0]);
      found.add(`${owner.object.__typename}.${via} → ${object.__typename}`);
    });
  }
  return found;
}

/** Every object seen, by type and owner: `Type accountId`. */
function owners(answers: readonly Answer[]): Set<string> {
  const found = new Set<string>();
  for (const { data } of answers) {
    forEachObject(data, (object) => {
      if (has(object, "accountId")) found.add(`${object.__typename} ${fieldOfObject(object, "accountId")}`);
      else found.add(object.__typename);
    });
  }
  return found;
}

function allText(answers: readonly Answer[]): string {
  const parts: string[] = [];
  for (const { data } of answers) forEachString(data, (text) => parts.push(...readings(text)));
  return parts.join("\n").toLowerCase();
}

function report(findings: string[]): string {
  return `${findings.length} finding(s):\n${findings.slice(0, 25).join("\n")}`;
}

describe.each(storesUnderTest())("the tenant scope on every path of the schema ($kind)", ({ kind, available }) => {
  let store: TestStore;
  let schema: GraphQLSchema;
  let data: Dataset;
  let walker: SchemaWalker;
  let operations: WalkOperation[];
  let everything: Answer[];

  beforeAll(async () => {
    if (!available) return;
    store = await openTestStore(kind);
    data = dataset();
    for (const [name, batch] of [
      ["owners.json", data.owners],
      ["crossing.json", data.crossing],
    ] as const) {
      await ingest(store.dataSource, [bufferSource(name, JSON.stringify(batch))]);
    }
    schema = await buildTrailGraphSchema();
    const introspection = await introspect(schema);
    const options = {
      depth: 3,
      lookupDepth: 2,
      pageSize: PAGE,
      variantDepth: 1,
      probe: { ...WINDOW, accountIds: ACCOUNTS },
      entityKeys: Object.fromEntries(Object.entries(ENTITY_TYPES).map(([name, type]) => [name, type.keyFields])),
    };
    walker = new SchemaWalker(introspection, options);
    // Discovery: the lists, unrestricted and two entities deep, give every object's keys.
    const discovery = await runWalk(
      schema,
      store.dataSource,
      TenantScope.all,
      new SchemaWalker(introspection, { ...options, depth: 2, variantDepth: -1 }).operations(null),
    );
    const pool: ObjectPool = new Map();
    for (const answer of discovery) collectObjects(answer.data, pool);
    operations = walker.operations(pool);
    everything = await runWalk(schema, store.dataSource, TenantScope.all, operations);
  });
  afterAll(async () => store?.close());

  it.skipIf(!available)("walks every field reachable from Query", () => {
    expect(walker.unwalked()).toEqual([]);
    // Lookups are fed with every account's objects, and with objects of no account.
    const lookups = operations.filter((operation) => operation.source.includes("$"));
    expect(lookups.map((operation) => operation.rootField).sort()).toEqual(
      ["_entities", "account", "event", "node", "order", "resource"].sort(),
    );
    const fed = JSON.stringify(lookups.map((operation) => operation.variables));
    for (const marker of [...TAGS, NO_ACCOUNT]) expect(fed).toContain(marker);
  });

  it.skipIf(!available)("an unrestricted caller, walked the same way, sees every account and what has none", () => {
    const text = allText(everything);
    for (const marker of [...TAGS, ...ACCOUNTS, NO_ACCOUNT, REJECTED]) expect(text).toContain(marker.toLowerCase());
    const seen = owners(everything);
    for (const type of ["Event", "Order", "ReferencedResource", "UserIdentity"]) {
      for (const owner of [...ACCOUNTS, null]) expect(seen).toContain(`${type} ${owner}`);
    }
    for (const account of ACCOUNTS) expect(seen).toContain(`Account ${account}`);
    expect(seen).toContain("IngestReject");
    // The data crosses accounts on every nested path.
    const crossed = crossings(everything);
    for (const link of [
      "Event.referencedResources → ReferencedResource",
      "Event.orders → Order",
      "Event.userIdentity → UserIdentity",
      "Order.items → ReferencedResource",
      "Order.resources → ReferencedResource",
      "Order.events → Event",
      "ReferencedResource.events → Event",
      "ReferencedResource.orders → Order",
      "UserIdentity.events → Event",
    ]) {
      expect(crossed, [...crossed].join("\n")).toContain(link);
    }
    const counts = countFindings(everything);
    expect(counts.findings, report(counts.findings)).toEqual([]);
    expect(counts.checked).toBeGreaterThan(0);
    const root = everything[0].data as any;
    expect(root.events__plain.totalCount).toBe(data.ownerOf.size);
  });

  for (const [name, scope] of [
    ["one account", () => TenantScope.accounts([ALPHA])],
    // The rollups store "no account" as '': a scope that names '' must not count those events.
    ["one account and the empty account ID", () => TenantScope.accounts([ALPHA, ""])],
  ] as const) {
    it.skipIf(!available)(`a caller allowed ${name} sees that account's objects and nothing else`, async () => {
      const answers = await runWalk(schema, store.dataSource, scope, operations);
      const leaks = leakFindings(answers, ALPHA);
      expect(leaks, report(leaks)).toEqual([]);
      const counts = countFindings(answers);
      expect(counts.findings, report(counts.findings)).toEqual([]);
      expect(counts.checked).toBeGreaterThan(0);
      const lookups = lookupFindings(answers, everything, ALPHA);
      expect(lookups.findings, report(lookups.findings)).toEqual([]);
      expect(lookups.own).toBeGreaterThan(0);
      expect(lookups.hidden).toBeGreaterThan(lookups.own);
      // Not vacuous: the account's own objects of every type are there.
      const seen = owners(answers);
      for (const type of ["Event", "Order", "ReferencedResource", "UserIdentity", "Account"]) {
        expect(seen).toContain(`${type} ${ALPHA}`);
      }
      const own = [...data.ownerOf.values()].filter((owner) => owner === ALPHA).length;
      const root = answers[0].data as any;
      expect(root.events__plain.totalCount).toBe(own);
      expect(root.events__probe.totalCount).toBe(own);
      expect(root.eventCounts__ACCOUNT_ID).toEqual([{ __typename: "EventCount", key: ALPHA, count: own }]);
      expect(root.eventCounts__ACCOUNT_ID__probe).toEqual([{ __typename: "EventCount", key: ALPHA, count: own }]);
      expect(root.ingestRejects.totalCount).toBe(0);
    });
  }
});

describe("the schema walk", () => {
  const options = { depth: 3, lookupDepth: 2, pageSize: PAGE, variantDepth: 1, probe: {} };

  it("walks a field added to the schema without being told", async () => {
    const schema = buildSchema(`
      type Query { things(first: Int): [Thing!]! thing(name: String!): Thing }
      type Thing { id: ID! name: String! added(kind: Kind!): Other }
      type Other { note: String }
      enum Kind { A B }
    `);
    const walker = new SchemaWalker(await introspect(schema), options);
    const pool: ObjectPool = new Map([["Thing", [{ name: "x" }, { name: "y" }]]]);
    const [lists, lookup] = walker.operations(pool);
    expect(walker.unwalked()).toEqual([]);
    expect(lists.source).toContain("added__A: added(kind: A) { __typename note }");
    expect(lookup.variables).toEqual([{ name: "x" }, { name: "y" }]);
  });

  it("fails loudly on a required argument it cannot supply", async () => {
    const schema = buildSchema(`type Query { thing(code: String!): Thing } type Thing { id: ID! name: String }`);
    const walker = new SchemaWalker(await introspect(schema), options);
    expect(() => walker.operations(new Map())).toThrow(/cannot supply the required argument\(s\) code of Query.thing/);
  });
});
