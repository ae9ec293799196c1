/**
 * The four canonical operations of issue 4, and their variables drawn from the dataset:
 * account IDs weighted like the data (a busy account is asked about as often as it acts),
 * real event IDs, 7-day windows inside the data's time range, and for the counts (d) 90 whole
 * UTC days ending at a UTC midnight inside the data, as a dashboard's daily chart asks.
 */
import { indexInCumulative } from "../src/generate/random";

export type OpKey = "a" | "b" | "c" | "d";

export interface Operation {
  key: OpKey;
  /** Sent as `operationName`; the raw server dispatches on it. */
  operationName: string;
  title: string;
  query: string;
  /** What TrailGraph prices it at (src/server/cost.ts; test/server/cost.spec.ts checks), as its answers say in `extensions.cost`. */
  cost: number;
}

export const OPERATIONS: readonly Operation[] = [
  {
    key: "a",
    operationName: "AccountEventsWindow",
    title: "events(account, 7-day window, first 50)",
    query:
      "query AccountEventsWindow($a: String!, $from: DateTime!, $to: DateTime!) { " +
      "events(filter: {accountIds: [$a], from: $from, to: $to}, first: 50) { " +
      "edges { cursor node { eventId eventName eventTime eventType userIdentity { userName } } } " +
      "pageInfo { hasNextPage endCursor } } }",
    cost: 101,
  },
  {
    key: "b",
    operationName: "EventById",
    title: "event(eventId)",
    query:
      "query EventById($id: ID!) { event(eventId: $id) { " +
      "eventId eventName eventTime eventType serviceName errorCode userIdentity { type userName } } }",
    cost: 2,
  },
  {
    key: "c",
    operationName: "AccountOrders",
    title: "account → orders(20) → items → resource → events(5)",
    query:
      "query AccountOrders($a: ID!) { account(accountId: $a) { orders(first: 20) { nodes { " +
      "orderId createdAt items { articleConfig resource { type resourceId " +
      "events(first: 5) { nodes { eventId eventName eventTime } } } } } } } }",
    cost: 822,
  },
  {
    key: "d",
    operationName: "AccountEventCounts",
    // A dashboard's daily chart: 90 whole UTC days, ending at a UTC midnight.
    title: "account.eventCounts(EVENT_NAME, 90 whole UTC days, first 10)",
    query:
      "query AccountEventCounts($a: ID!, $from90: DateTime!, $to: DateTime!) { account(accountId: $a) { " +
      "eventCounts(by: EVENT_NAME, filter: {from: $from90, to: $to}, first: 10) { key count } } }",
    cost: 501,
  },
];

export function operation(key: OpKey): Operation {
  const found = OPERATIONS.find((op) => op.key === key);
  if (!found) throw new Error(`unknown operation ${key}`);
  return found;
}

/** What the variables are drawn from (read from the ingested database). */
export interface DatasetFacts {
  /** Accounts with their number of events. */
  accounts: Array<{ accountId: string; events: number }>;
  /** A random sample of stored event IDs. */
  eventIds: string[];
  minTime: Date;
  maxTime: Date;
}

export type Variables = Record<string, string>;

const DAY_MS = 86_400_000;

/** `count` variable sets for an operation, the same for a seed. */
export function variableSets(key: OpKey, facts: DatasetFacts, count: number, seed: number): Variables[] {
  if (facts.accounts.length === 0 || facts.eventIds.length === 0) throw new Error("the dataset has no events");
  const random = mulberry32(seed * 31 + key.charCodeAt(0));
  const cumulative: number[] = [];
  let total = 0;
  for (const account of facts.accounts) cumulative.push((total += account.events));
  const account = () => facts.accounts[indexInCumulative(cumulative, random() * total)].accountId;
  const window = () => {
    const first = Math.floor(facts.minTime.getTime() / 1000) * 1000;
    const last = Math.ceil(facts.maxTime.getTime() / 1000) * 1000 + 1000;
    const span = Math.max(0, last - first - 7 * DAY_MS);
    const from = first + Math.floor((random() * span) / 1000) * 1000;
    const to = Math.min(from + 7 * DAY_MS, Math.max(last, from + 1000));
    return { from: new Date(from), to: new Date(to) };
  };
  /** A UTC midnight after the first event and at most the last (the one after the data if none is). */
  const midnight = () => {
    const firstDay = Math.floor(facts.minTime.getTime() / DAY_MS) + 1;
    const lastDay = Math.max(firstDay, Math.floor(facts.maxTime.getTime() / DAY_MS));
    return new Date((firstDay + Math.floor(random() * (lastDay - firstDay + 1))) * DAY_MS);
  };
  const sets: Variables[] = [];
  for (let i = 0; i < count; i++) {
    switch (key) {
      case "a": {
        const { from, to } = window();
        sets.push({ a: account(), from: from.toISOString(), to: to.toISOString() });
        break;
      }
      case "b":
        sets.push({ id: facts.eventIds[Math.floor(random() * facts.eventIds.length)] });
        break;
      case "c":
        sets.push({ a: account() });
        break;
      case "d": {
        const to = midnight();
        sets.push({ a: account(), from90: new Date(to.getTime() - 90 * DAY_MS).toISOString(), to: to.toISOString() });
        break;
      }
    }
  }
  return sets;
}

/** The HTTP request bodies for an operation's variable sets. */
export function requestBodies(key: OpKey, sets: readonly Variables[]): string[] {
  const op = operation(key);
  return sets.map((variables) => JSON.stringify({ operationName: op.operationName, query: op.query, variables }));
}

/** A small, fast, seedable PRNG (deterministic variable draws). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
