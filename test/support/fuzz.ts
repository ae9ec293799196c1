/**
 * The ingest's fuzz corpus and its oracle (issue #14: every record stored whole or rejected
 * with a reason).
 *
 * - `fuzzCorpus` takes real events (samples/events.json, the generator's output, an event for
 *   each operation of the documentation's catalog) and mutates them with named classes (wrong
 *   types, missing and null fields, deep nesting, huge strings and records, every kind of
 *   Unicode, look-alike IDs, broken JSON at every position, duplicate keys, invalid UTF-8...),
 *   all from one seed. Each record is its BYTES (so that broken JSON and invalid UTF-8 are
 *   possible) with what the oracle expects of them.
 * - `oracle` says, from a record's bytes alone, whether the contract stores or rejects it and,
 *   when stored, what every typed field and `raw` must answer. It is written from the contract
 *   (a small table per GraphQL field), never by calling src/ingest/normalize.ts: a test whose
 *   expectations come from the code under test cannot see that code swap two columns.
 * - `layoutFiles` puts the records in JSON lines and JSON array documents so that each record
 *   is exactly one record of the reader, with a position the accounting can find again.
 * - `accountFor` reads the store back through GraphQL and sorts every record into
 *   stored-and-equal, rejected-as-expected, mismatch or unaccounted, per mutation class.
 *
 * Nothing here imports vitest: scripts/fuzz.ts runs the long run with the same code.
 */
import { isUtf8 } from "node:buffer";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { EVENT_CATALOG } from "../../src/catalog";
import { generateEvents } from "../../src/generate/generator";
import { Random } from "../../src/generate/random";
import { MAX_JSON_DEPTH } from "../../src/ingest/limits";

export { MAX_JSON_DEPTH };

/** The reader's largest record (src/ingest/formats/read-records.ts DEFAULT_MAX_RECORD_BYTES). */
export const MAX_RECORD_BYTES = 16 * 1024 * 1024;

const REPO = resolve(__dirname, "..", "..");

// ---------------------------------------------------------------------------------------------
// Seeded randomness: the generator's own (src/generate/random.ts), on a stream of its own.

export class Rng extends Random {
  constructor(seed: number, stream = 0) {
    super("fuzz", seed, stream);
  }

  /** Log-uniform integer in [min, max] (min >= 1): small values often, large ones sometimes. */
  logInt(min: number, max: number): number {
    return Math.min(max, Math.floor(Math.exp(Math.log(min) + this.next() * (Math.log(max + 1) - Math.log(min)))));
  }
}

// ---------------------------------------------------------------------------------------------
// The oracle: what the contract says of a record, from its bytes.

type Json = unknown;
type JsonObject = Record<string, unknown>;

/**
 * GraphQL Event field <- the top-level key it comes from, and its column limit in UTF-16 code
 * units (Infinity: no limit, the whole value is answered). The limits are the contract's
 * (src/entities/columns.ts LIMITS), written out here on purpose: the oracle must not move
 * with the code it checks.
 */
export const TEXT_FIELDS = [
  ["eventName", 128],
  ["eventType", 64],
  ["eventCategory", 64],
  ["eventRW", 16],
  ["eventVersion", 16],
  ["eventSource", 128],
  ["serviceName", 64],
  ["acsRegion", 64],
  ["requestId", 128],
  ["apiVersion", 64],
  ["sourceIpAddress", 64],
  ["userAgent", Infinity],
  ["vpcId", 64],
  ["errorCode", 128],
  ["errorMessage", Infinity],
  ["recipientAccountId", 64],
] as const;

/** UserIdentity field <- the key of the source's `userIdentity` object, and its column limit. */
export const IDENTITY_FIELDS = [
  ["type", 64],
  ["accountId", 64],
  ["principalId", 255],
  ["userName", 255],
  ["accessKeyId", 128],
] as const;

export const EVENT_ID_LIMIT = 128;

export type TextField = (typeof TEXT_FIELDS)[number][0];
export type IdentityField = (typeof IDENTITY_FIELDS)[number][0];

/** Every field the API answers for a stored event, as the oracle derives it. */
export type ExpectedFields = { [K in TextField]: string | null } & {
  eventId: string;
  /** ISO 8601 in UTC with milliseconds, as the DateTime scalar answers. */
  eventTime: string;
  isGlobal: boolean | null;
  failed: boolean;
  sensitiveAction: boolean | null;
  accountId: string | null;
  sessionCreatedAt: string | null;
  mfaAuthenticated: boolean | null;
  userIdentity: ({ [K in IdentityField]: string | null } & { type: string }) | null;
  requestParameters: Json;
  responseElements: Json;
  additionalEventData: Json;
};

export type Expectation =
  | { kind: "stored"; eventId: string; fields: ExpectedFields; raw: Json }
  | {
      kind: "rejected";
      why: string;
      /** The record's eventId when it parsed to one: it must not be stored. */
      eventId?: string;
    };

class Reject extends Error {}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function hasLoneSurrogate(text: string): boolean {
  return LONE_SURROGATE.test(text);
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A typed text field: a JSON string as it is (blank: null), a number or boolean as text, anything else null. */
function coerceText(value: unknown): string | null {
  if (typeof value === "string") return value.trim() === "" ? null : value;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  if (typeof value === "boolean") return String(value);
  return null;
}

/** A typed text field that must also fit its column and be storable (no lone surrogate). */
function typedText(field: string, value: unknown, limit: number): string | null {
  const text = coerceText(value);
  if (text === null) return null;
  if (hasLoneSurrogate(text)) throw new Reject(`${field} holds a lone surrogate`);
  if (text.length > limit) throw new Reject(`${field} is ${text.length} code units long (limit ${limit})`);
  return text;
}

/** A flag: booleans as they are, numbers (not 0), "true"/"1"/"false"/"0" (trimmed, any case). */
function flag(value: unknown): boolean | null {
  if (typeof value === "boolean") return value;
  if (typeof value === "number") return value !== 0;
  if (typeof value === "string") {
    const lower = value.trim().toLowerCase();
    if (lower === "true" || lower === "1") return true;
    if (lower === "false" || lower === "0") return false;
  }
  return null;
}

const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:\d{2})?$/;

/**
 * A time of the contract: a JSON string `YYYY-MM-DD[T ]HH:MM[:SS[.fff]][Z|±HH:MM]` naming a
 * real instant (no February 30th, no hour 24, no second 60), no zone meaning UTC, in the
 * years 1970 to 9999 (UTC). Its ISO text in UTC with milliseconds, or null.
 */
export function contractTime(value: unknown): string | null {
  if (typeof value !== "string") return null;
  const match = ISO_TIME.exec(value);
  if (!match) return null;
  const [, y, mo, d, h, mi, s = "0", fraction = "", zone = "Z"] = match;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  if (Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) return null;
  let offsetMinutes = 0;
  if (zone !== "Z") {
    const oh = Number(zone.slice(1, 3));
    const om = Number(zone.slice(4, 6));
    if (oh > 23 || om > 59) return null;
    offsetMinutes = (zone[0] === "-" ? -1 : 1) * (oh * 60 + om);
  }
  const ms = Number(fraction.slice(0, 3).padEnd(3, "0"));
  const utc = Date.UTC(year, month - 1, day, Number(h), Number(mi), Number(s), ms) - offsetMinutes * 60_000;
  const date = new Date(utc);
  // Date.UTC reads years 0-99 as 1900-1999; such years are out of range either way.
  if (year < 100 || date.getUTCFullYear() < 1970 || date.getUTCFullYear() > 9999) return null;
  return date.toISOString();
}

function daysInMonth(year: number, month: number): number {
  return [31, isLeap(year) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
}

function isLeap(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/**
 * How the API shows a payload part: objects and arrays as they are, a string holding JSON
 * (once trimmed, starting with `{` or `[`) parsed, other strings as they are; null, `""` and
 * absent are absent (src/ingest/normalize.ts `payloadParts`, the API's documented reading).
 */
function jsonish(value: unknown): unknown {
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value === "string") {
    const trimmed = value.trim();
    if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
      try {
        return JSON.parse(trimmed);
      } catch {
        return value;
      }
    }
  }
  return value;
}

/** Deepest nesting of arrays and objects (the value itself is level 1), and whether a number is not finite. */
export function inspectJson(value: unknown): { depth: number; nonFinite: boolean } {
  let depth = 0;
  let nonFinite = false;
  // Iterative: records nest tens of thousands of levels deep.
  const nodes: unknown[] = [value];
  const levels: number[] = [1];
  while (nodes.length > 0) {
    const node = nodes.pop();
    const level = levels.pop()!;
    if (typeof node === "number") {
      if (!Number.isFinite(node)) nonFinite = true;
      continue;
    }
    if (typeof node !== "object" || node === null) continue;
    if (level > depth) depth = level;
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      nodes.push(child);
      levels.push(level + 1);
    }
  }
  return { depth, nonFinite };
}

/** The contract, applied to one record's bytes. */
export function oracle(bytes: Buffer): Expectation {
  if (bytes.length > MAX_RECORD_BYTES) return { kind: "rejected", why: `larger than ${MAX_RECORD_BYTES} bytes` };
  if (!isUtf8(bytes)) return { kind: "rejected", why: "not valid UTF-8" };
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString("utf8"));
  } catch {
    return { kind: "rejected", why: "not valid JSON" };
  }
  const eventId = isObject(value) && typeof value.eventId === "string" ? value.eventId : undefined;
  try {
    return { kind: "stored", ...expectStored(value) };
  } catch (error) {
    if (!(error instanceof Reject)) throw error;
    return { kind: "rejected", why: error.message, eventId };
  }
}

function expectStored(value: unknown): { eventId: string; fields: ExpectedFields; raw: Json } {
  const { depth, nonFinite } = inspectJson(value);
  if (depth > MAX_JSON_DEPTH) throw new Reject(`nested ${depth} levels deep (limit ${MAX_JSON_DEPTH})`);
  if (nonFinite) throw new Reject("a number beyond the range of a double");
  if (!isObject(value)) throw new Reject("not a JSON object");
  const event = value;

  const id = event.eventId;
  if (typeof id !== "string") throw new Reject("eventId is not a JSON string");
  if (id.trim() === "") throw new Reject("eventId is blank");
  if (id.length > EVENT_ID_LIMIT) throw new Reject(`eventId is ${id.length} code units long`);
  if (hasLoneSurrogate(id)) throw new Reject("eventId holds a lone surrogate");
  if (typeof event.eventTime !== "string") throw new Reject("eventTime is not a JSON string");
  const eventTime = contractTime(event.eventTime);
  if (eventTime === null) throw new Reject(`eventTime ${JSON.stringify(event.eventTime)} is not an ISO 8601 time`);

  const text = {} as { [K in TextField]: string | null };
  for (const [field, limit] of TEXT_FIELDS) text[field] = typedText(field, event[field], limit);

  let userIdentity: ExpectedFields["userIdentity"] = null;
  if (isObject(event.userIdentity)) {
    const source = event.userIdentity;
    const identity = {} as { [K in IdentityField]: string | null };
    for (const [field, limit] of IDENTITY_FIELDS)
      identity[field] = typedText(`userIdentity.${field}`, source[field], limit);
    userIdentity = { ...identity, type: identity.type ?? "unknown" };
  }
  const attributes = objectAt(event, "userIdentity", "sessionContext", "attributes");
  const eventAttributes = isObject(event.eventAttributes) ? event.eventAttributes : {};

  return {
    eventId: id,
    raw: value,
    fields: {
      eventId: id,
      eventTime,
      ...text,
      isGlobal: flag(event.isGlobal),
      failed: text.errorCode !== null,
      sensitiveAction: flag(eventAttributes.SensitiveAction ?? event.sensitiveAction),
      accountId: userIdentity?.accountId ?? text.recipientAccountId ?? null,
      sessionCreatedAt: contractTime(attributes.creationDate),
      mfaAuthenticated: flag(attributes.mfaAuthenticated),
      userIdentity,
      requestParameters: jsonish(event.requestParameters) ?? jsonish(event.requestParameterJson) ?? null,
      responseElements: jsonish(event.responseElements) ?? null,
      additionalEventData: jsonish(event.additionalEventData) ?? null,
    },
  };
}

function objectAt(root: JsonObject, ...keys: string[]): JsonObject {
  let node: unknown = root;
  for (const key of keys) node = isObject(node) ? node[key] : undefined;
  return isObject(node) ? node : {};
}

// ---------------------------------------------------------------------------------------------
// Comparing an answer with the oracle.

/** JSON equality: numbers by value (-0 is 0), objects by their own keys in any order. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  return firstDifference(a, b, "") === null;
}

/** Where two JSON values first differ (`.a[2].b`), or null when equal. */
export function firstDifference(a: unknown, b: unknown, path: string): string | null {
  if (a === b) return null;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return path || "(root)";
  if (Array.isArray(a) !== Array.isArray(b)) return path || "(root)";
  if (Array.isArray(a)) {
    const other = b as unknown[];
    if (a.length !== other.length) return `${path}.length`;
    for (let i = 0; i < a.length; i++) {
      const found = firstDifference(a[i], other[i], `${path}[${i}]`);
      if (found !== null) return found;
    }
    return null;
  }
  const left = a as JsonObject;
  const right = b as JsonObject;
  const keys = Object.keys(left);
  if (keys.length !== Object.keys(right).length) return `${path} (keys ${show(keys)} vs ${show(Object.keys(right))})`;
  for (const key of keys) {
    if (!Object.hasOwn(right, key)) return `${path}.${show(key)} (missing)`;
    const found = firstDifference(left[key], right[key], `${path}.${show(key)}`);
    if (found !== null) return found;
  }
  return null;
}

/** A value for a message: JSON (lone surrogates escaped), cut. */
export function show(value: unknown, max = 120): string {
  let text: string;
  try {
    text = value === undefined ? "undefined" : JSON.stringify(value);
  } catch {
    text = String(value);
  }
  return text.length > max ? `${text.slice(0, max)}… (${text.length} chars)` : text;
}

/** What an answer gets wrong, field by field (empty when it matches). */
export function differences(expected: Extract<Expectation, { kind: "stored" }>, actual: JsonObject): string[] {
  const found: string[] = [];
  for (const [field, value] of Object.entries(expected.fields)) {
    const where = firstDifference(value, actual[field], "");
    if (where !== null) {
      found.push(`${field}${where === "(root)" ? "" : where}: expected ${show(value)}, got ${show(actual[field])}`);
    }
  }
  const where = firstDifference(expected.raw, actual.raw, "");
  if (where !== null) found.push(`raw${where === "(root)" ? "" : where}: differs`);
  return found;
}

/** Every field `differences` compares, as a GraphQL selection on Event. */
export const EVENT_SELECTION =
  "eventId eventTime eventName eventType eventCategory eventRW eventVersion eventSource serviceName acsRegion " +
  "requestId apiVersion sourceIpAddress userAgent vpcId isGlobal errorCode errorMessage failed sensitiveAction " +
  "recipientAccountId accountId sessionCreatedAt mfaAuthenticated " +
  "userIdentity { type accountId principalId userName accessKeyId } " +
  "requestParameters responseElements additionalEventData raw";

// ---------------------------------------------------------------------------------------------
// Real events to start from.

let samplesCache: JsonObject[] | undefined;

/** samples/events.json (67 events, the first the documentation's sample), fresh copies. */
export function sampleEvents(): JsonObject[] {
  samplesCache ??= JSON.parse(readFileSync(resolve(REPO, "samples", "events.json"), "utf8")) as JsonObject[];
  return structuredClone(samplesCache);
}

/**
 * One generated event of each shape the generator makes (event type, service, operation,
 * identity type, failed or not, and its optional parts), from a run of `events` events.
 */
export function generatorFamilies(seed: number, events = 20_000): JsonObject[] {
  const seen = new Set<string>();
  const picked: JsonObject[] = [];
  for (const event of generateEvents({ events, accounts: 6, seed, days: 90 })) {
    const identity = isObject(event.userIdentity) ? event.userIdentity : {};
    const shape = JSON.stringify([
      event.eventType,
      event.serviceName,
      event.eventName,
      identity.type,
      Boolean(event.errorCode),
      "resourceType" in event,
      "referencedResources" in event,
      "sessionContext" in identity,
      "accessKeyId" in identity,
      "vpcId" in event,
      "isGlobal" in event,
      typeof event.eventVersion,
    ]);
    if (seen.has(shape)) continue;
    seen.add(shape);
    picked.push(event);
  }
  return picked;
}

/**
 * An event for each operation of the documentation's Expenses and Costs catalog
 * (src/catalog/expenses-and-costs.json), shaped as the samples' BssOpenApi calls.
 */
export function catalogEvents(): JsonObject[] {
  const template = sampleEvents().find((event) => event.serviceName === "BssOpenApi" && event.eventType === "ApiCall");
  if (!template) throw new Error("samples/events.json has no BssOpenApi API call");
  return EVENT_CATALOG.map((entry, index) => ({
    ...structuredClone(template),
    eventId: `catalog-${entry.eventName}`,
    requestId: `catalog-request-${index}`,
    eventName: entry.eventName,
    eventRW: entry.access === "READ" ? "Read" : "Write",
  }));
}

interface BaseEvent {
  family: string;
  event: JsonObject;
}

const basePools = new Map<number, BaseEvent[]>();

/** The events mutations start from: the samples, the documentation's catalog, the generator's shapes. */
function basePool(seed: number): BaseEvent[] {
  let pool = basePools.get(seed);
  if (!pool) {
    pool = [
      ...sampleEvents().map((event) => ({ family: "samples", event })),
      ...catalogEvents().map((event) => ({ family: "catalog", event })),
      ...generatorFamilies(seed, 3000).map((event) => ({ family: `generator ${event.eventType}`, event })),
    ];
    basePools.set(seed, pool);
  }
  return pool;
}

// ---------------------------------------------------------------------------------------------
// Records.

/** How a record may be framed: in any document, only as a JSON line, only as an array element. */
export type Framing = "any" | "lines" | "array";

export interface FuzzRecord {
  /** Unique within a corpus (anchors made by layoutFiles continue after the corpus). */
  index: number;
  /** The mutation class the record exercises (a row of the accounting table). */
  cls: string;
  /** Every mutation applied, for reports. */
  mutations: string[];
  bytes: Buffer;
  framing: Framing;
  expected: Expectation;
}

/** What a record is while it is being mutated: a value, then its JSON text, then its bytes. */
interface Draft {
  value?: unknown;
  text?: string;
  bytes?: Buffer;
  notes: string[];
}

/** Typed paths of an event: the targets of wrong types, missing and null values. */
const TYPED_PATHS: readonly string[][] = [
  ["eventId"],
  ["eventTime"],
  ...TEXT_FIELDS.map(([field]) => [field]),
  ["isGlobal"],
  ["sensitiveAction"],
  ["eventAttributes"],
  ["eventAttributes", "SensitiveAction"],
  ["userIdentity"],
  ...IDENTITY_FIELDS.map(([field]) => ["userIdentity", field]),
  ["userIdentity", "sessionContext"],
  ["userIdentity", "sessionContext", "attributes"],
  ["userIdentity", "sessionContext", "attributes", "creationDate"],
  ["userIdentity", "sessionContext", "attributes", "mfaAuthenticated"],
  ["requestParameters"],
  ["responseElements"],
  ["additionalEventData"],
  ["requestParameterJson"],
];

/** Typed text paths with their limits (the targets of Unicode and of the length limits). */
const TEXT_PATHS: ReadonlyArray<readonly [readonly string[], number]> = [
  ...TEXT_FIELDS.map(([field, limit]): [string[], number] => [[field], limit]),
  ...IDENTITY_FIELDS.map(([field, limit]): [string[], number] => [["userIdentity", field], limit]),
];

/** Values of the wrong JSON type (or blank) for any typed field. */
const WRONG_VALUES: readonly unknown[] = [
  0,
  1,
  -1,
  42,
  3.5,
  -7.25e-3,
  1e21,
  2 ** 64,
  true,
  false,
  null,
  "",
  " ",
  "\t \u00a0",
  {},
  { a: 1 },
  { value: "text" },
  [],
  ["x"],
  [1, [2]],
  "true",
  "FALSE",
  "0",
  "1",
  " 1 ",
  "yes",
  "null",
  "NaN",
];

const INVALID_EVENT_IDS: readonly unknown[] = [
  0,
  123,
  -1,
  1.5,
  1e21,
  true,
  false,
  null,
  "",
  " ",
  "\t",
  "\u3000",
  {},
  [],
  ["id"],
  { id: "x" },
];

/**
 * Strings of every kind of Unicode: lone surrogates, NUL and controls, combining marks,
 * NFC/NFD, zero-width and bidi controls, astral characters, non-characters, line separators,
 * full-width digits and homoglyphs, whitespace that trim() removes (whole values of it are
 * blank) and that it does not.
 */
export const UNICODE_STRINGS: readonly string[] = [
  "\ud800",
  "\udfff",
  "abc\ud83d",
  "\ude00x",
  "\ude00\ud83d",
  "a\u0000b",
  "\u0000",
  "\u0001\u001f\u007f",
  "e\u0301",
  "\u00e9",
  "cafe\u0301",
  "caf\u00e9",
  "\u200b",
  "a\u200db",
  "\u202eevil",
  "\ufeffbom",
  "\ufeff",
  "\uffff\ufffe",
  "\u2028\u2029",
  "\u2028",
  "\ud83d\ude00",
  "\ud83d\udc68\u200d\ud83d\udc69\u200d\ud83d\udc67",
  "\ud835\udc00\ud835\udc01",
  "\u4e2d\u6587",
  "\uff11\uff12\uff13",
  "r\u043e\u043et",
  "\u00a0",
  "\u3000",
  " \t\n ",
  "x\u00a0",
  "\u1100\u1161\u11a8",
  "\u0915\u094d\u0937",
  "Z\u0351\u0352\u0353",
  "\\\"'`",
  "</script>",
  "\u0130\u0131",
  "\u00df",
  "\ufb01",
];

const INVALID_UTF8: readonly number[][] = [
  [0x80],
  [0xbf],
  [0xc0, 0xaf],
  [0xc1, 0xbf],
  [0xe0, 0x80, 0xaf],
  [0xed, 0xa0, 0x80],
  [0xed, 0xbf, 0xbf],
  [0xf4, 0x90, 0x80, 0x80],
  [0xf5, 0x80, 0x80, 0x80],
  [0xfe],
  [0xff],
  [0xe2, 0x82],
  [0xf0, 0x9f, 0x98],
  [0xc3],
  [0xe2, 0x28, 0xa1],
  [0x61, 0xc3, 0x28, 0x62],
];

const VALID_TIMES: readonly string[] = [
  "2021-08-02T06:30:17Z",
  "2021-08-02T06:30:17.123Z",
  "2021-08-02 06:30:17",
  "2021-08-02T06:30",
  "2021-08-02T06:30Z",
  "2021-08-02T14:30:17+08:00",
  "2021-08-01T23:00:00-05:30",
  "2021-08-02T06:30:17.000+00:00",
  "1970-01-01T00:00:00Z",
  "1970-01-01T00:00:00.001",
  "9999-12-31T23:59:59.999Z",
  "2020-02-29T12:00:00Z",
  "2000-02-29 23:59:59.999",
];

const INVALID_TIMES: readonly unknown[] = [
  "",
  " ",
  "yesterday",
  "2021-08-02",
  "2021-13-01T00:00:00Z",
  // No such day: a Date would quietly make it March 2nd.
  "2021-02-30T00:00:00Z",
  "2021-02-29T00:00:00Z",
  "1969-12-31T23:59:59Z",
  "10000-01-01T00:00:00Z",
  "2021-08-02T25:00:00Z",
  "2021-08-02T06:61:00Z",
  "2021-08-02T06:30:60Z",
  "1627889417",
  "1627889417000",
  "\uff12\uff10\uff12\uff11-08-02T06:30:17Z",
  "2021-08-02T06:30:17Z\u0000",
  "2021-08-02T06:30:17\ud800",
  1627889417,
  1627889417000,
  0,
  true,
  null,
  {},
  ["2021-08-02T06:30:17Z"],
];

const FLAG_VALUES: readonly unknown[] = [
  true,
  false,
  1,
  0,
  2,
  -1,
  0.5,
  "true",
  " TRUE ",
  "tRuE",
  "1",
  "0",
  "false",
  " False\u00a0",
  "yes",
  "no",
  "",
  null,
  {},
  [],
  [true],
];

const NUMBER_TOKENS: readonly string[] = [
  "1e400",
  "-1e400",
  "1E+400",
  "1.8e308",
  "-0",
  "0e0",
  "1e-400",
  "5e-324",
  "1.7976931348623157e308",
  "12345678901234567890",
  "1E5",
  "0.1",
  "-12.5e-3",
  "100000000000000000000000",
];

const HOSTILE_KEYS: readonly string[] = [
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "hasOwnProperty",
  "",
  " ",
  "eventid",
  "EventId",
  "eventId ",
  " eventId",
  "a.b",
  "$where",
  "\u0000",
  "\ud800",
  "\ud83d\ude00",
  'quote"key',
  "back\\slash",
  "line\u2028sep",
];

/** Characters for strings whose length in UTF-16 code units is their length in characters. */
const BMP_CHARS = ["a", "Z", "0", "-", "\u00e9", "\u4e2d", "\u0416", "\u00df"];

function setPath(root: JsonObject, path: readonly string[], value: unknown): void {
  let node = root;
  for (const key of path.slice(0, -1)) {
    if (!isObject(node[key])) node[key] = {};
    node = node[key] as JsonObject;
  }
  defineKey(node, path[path.length - 1], value);
}

function deletePath(root: JsonObject, path: readonly string[]): void {
  let node: unknown = root;
  for (const key of path.slice(0, -1)) node = isObject(node) ? node[key] : undefined;
  if (isObject(node)) delete node[path[path.length - 1]];
}

function getPath(root: JsonObject, path: readonly string[]): unknown {
  let node: unknown = root;
  for (const key of path) node = isObject(node) ? node[key] : undefined;
  return node;
}

/** Sets an own key, `__proto__` included (an assignment would set the prototype instead). */
function defineKey(object: JsonObject, key: string, value: unknown): void {
  Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Adds a member to an object's JSON text, after its members (later duplicate keys win). */
function appendMember(text: string, key: string, valueText: string): string {
  const member = `${JSON.stringify(key)}:${valueText}`;
  return text === "{}" ? `{${member}}` : `${text.slice(0, -1)},${member}}`;
}

/** Adds a member to an object's JSON text, before its members (it loses to a later duplicate). */
function prependMember(text: string, key: string, valueText: string): string {
  const member = `${JSON.stringify(key)}:${valueText}`;
  return text === "{}" ? `{${member}}` : `{${member},${text.slice(1)}`;
}

/** `levels` nested containers, arrays and objects alternately, around a scalar. */
export function nestedText(levels: number): string {
  const open: string[] = [];
  const close: string[] = [];
  for (let i = 0; i < levels; i++) {
    open.push(i % 2 === 0 ? "[" : '{"d":');
    close.push(i % 2 === 0 ? "]" : "}");
  }
  return open.join("") + '"leaf"' + close.reverse().join("");
}

/** A string of `length` code units (and characters) of `chars`. */
function stringOf(rng: Rng, length: number, chars: readonly string[] = BMP_CHARS): string {
  if (chars.length === 1) return chars[0].repeat(length);
  // Runs of one character: long strings are made fast, and still mix every byte length.
  const parts: string[] = [];
  let left = length;
  while (left > 0) {
    const run = Math.min(left, rng.int(1, 64));
    parts.push(rng.pick(chars).repeat(run));
    left -= run;
  }
  return parts.join("");
}

/**
 * How the reader will frame a record's bytes, scanned as it scans them (string and escape
 * state, bracket depth): one value that ends at the last byte, a value that ends early
 * (trailing bytes would be a record of their own), or a value left open, cut in a string, or
 * closed by the wrong bracket (damage the reader contains to the line, in JSON lines only).
 */
export function scanFrame(bytes: Buffer): "single" | "early" | "unclosed" | "unterminated" | "mismatch" | "scalar" {
  const first = bytes[0];
  if (first !== 0x7b && first !== 0x5b) return "scalar";
  const stack: number[] = [];
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i];
    if (inString) {
      if (byte === 0x5c) i++;
      else if (byte === 0x22) inString = false;
      continue;
    }
    if (byte === 0x22) inString = true;
    else if (byte === 0x7b || byte === 0x5b) stack.push(byte);
    else if (byte === 0x7d || byte === 0x5d) {
      const open = stack.pop();
      if (open === undefined || (open === 0x7b) !== (byte === 0x7d)) return "mismatch";
      if (stack.length === 0 && i < bytes.length - 1) return "early";
    }
  }
  if (inString) return "unterminated";
  return stack.length > 0 ? "unclosed" : "single";
}

/** Offsets inside JSON strings where a byte can be inserted (not right after a backslash). */
function stringPositions(bytes: Buffer): number[] {
  const found: number[] = [];
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i];
    if (!inString) {
      if (byte === 0x22) inString = true;
      continue;
    }
    found.push(i);
    if (byte === 0x5c) i++;
    else if (byte === 0x22) inString = false;
  }
  return found;
}

/** The documents a record's bytes may go in; null when no framing keeps it one record. */
function framingOf(bytes: Buffer): Framing | null {
  if (bytes.length === 0 || bytes.includes(0x0a) || bytes.includes(0x0d)) return null;
  const frame = scanFrame(bytes);
  if (frame === "scalar") return "any";
  if (frame === "early") return null;
  if (frame === "single") return bytes[0] === 0x7b ? "any" : "array";
  // Broken structure: in an array it would cost every element after it.
  return bytes[0] === 0x7b ? "lines" : null;
}

export interface FuzzOptions {
  seed: number;
  /** Records to make, the deterministic hostile cases (specials) included. */
  count: number;
  /** Start with the deterministic hostile cases of every class (default true). */
  specials?: boolean;
  /** Include a record larger than the reader's 16 MiB limit among the specials (default true). */
  oversized?: boolean;
  /** Longest string the random `huge` records make, in code units (default 512 Ki). */
  maxHugeLength?: number;
  /** Deepest nesting the random `deep-nesting` records make (default 50,000). */
  maxDepth?: number;
}

/** The mutation classes and how often the random part of a corpus uses each. */
export const CLASS_WEIGHTS: ReadonlyArray<readonly [string, number]> = [
  ["clean", 6],
  ["wrong-type", 10],
  ["missing-or-null", 7],
  ["times", 6],
  ["flags", 5],
  ["limits", 5],
  ["huge", 2],
  ["deep-nesting", 4],
  ["unicode", 10],
  ["look-alike", 2],
  ["keys", 4],
  ["payload", 4],
  ["numbers", 5],
  ["duplicate-keys", 6],
  ["broken-json", 10],
  ["invalid-utf8", 5],
  ["not-object", 3],
  ["redelivery", 3],
];

/** Classes that change the event as a value; they may be stacked on another class's record. */
const VALUE_CLASSES = ["wrong-type", "missing-or-null", "times", "flags", "unicode", "keys", "payload"] as const;

/**
 * A seeded corpus: the specials of every class first (unless turned off), then random records
 * of random classes until `count`. Same options, same bytes.
 */
export function fuzzCorpus(options: FuzzOptions): FuzzRecord[] {
  return new CorpusBuilder(options).build();
}

class CorpusBuilder {
  private readonly rng: Rng;
  private readonly pool: BaseEvent[];
  private readonly records: FuzzRecord[] = [];
  private readonly storedSoFar: FuzzRecord[] = [];
  private readonly maxHugeLength: number;
  private readonly maxDepth: number;
  private lookAlikeGroups = 0;

  constructor(private readonly options: FuzzOptions) {
    this.rng = new Rng(options.seed, 1);
    this.pool = basePool(options.seed);
    this.maxHugeLength = options.maxHugeLength ?? 512 * 1024;
    this.maxDepth = options.maxDepth ?? 50_000;
  }

  build(): FuzzRecord[] {
    if (this.options.specials ?? true) this.specials();
    let guard = 0;
    while (this.records.length < this.options.count && guard++ < this.options.count * 20) {
      this.random(this.rng.weightedPair(CLASS_WEIGHTS));
    }
    // The specials, and the last look-alike group, may take the corpus past `count`.
    return this.records;
  }

  // --- bases -----------------------------------------------------------------------------

  /** An ID no other record of this corpus has (the look-alike classes excepted, on purpose). */
  private freshId(prefix?: string): string {
    const index = this.records.length;
    const head = (prefix ?? "fz").slice(0, 40);
    return `${head}~${this.options.seed}.${index}.${this.rng.int(0, 1e6)}`;
  }

  /** A random real event with a fresh eventId. */
  private base(): JsonObject {
    const { event } = this.rng.pick(this.pool);
    const copy = structuredClone(event);
    copy.eventId = this.freshId(typeof event.eventId === "string" ? event.eventId : undefined);
    return copy;
  }

  private draft(value: unknown, note?: string): Draft {
    return { value, notes: note ? [note] : [] };
  }

  private textOf(draft: Draft): string {
    if (draft.text === undefined) draft.text = JSON.stringify(draft.value);
    return draft.text;
  }

  /** Adds the finished record; false (nothing added) when no framing keeps it one record. */
  private add(cls: string, draft: Draft): boolean {
    const bytes = draft.bytes ?? Buffer.from(this.textOf(draft), "utf8");
    const framing = framingOf(bytes);
    if (framing === null) return false;
    const record: FuzzRecord = {
      index: this.records.length,
      cls,
      mutations: draft.notes,
      bytes,
      framing,
      expected: oracle(bytes),
    };
    this.records.push(record);
    if (record.expected.kind === "stored") this.storedSoFar.push(record);
    return true;
  }

  // --- value mutations -------------------------------------------------------------------

  private wrongType(event: JsonObject, draft: Draft): void {
    const path = this.rng.pick(TYPED_PATHS);
    // A string eventId would be a valid ID another record may have too: IDs get non-strings or blanks.
    const value = structuredClone(
      path[0] === "eventId" ? this.rng.pick(INVALID_EVENT_IDS) : this.rng.pick(WRONG_VALUES),
    );
    setPath(event, path, value);
    draft.notes.push(`${path.join(".")} = ${show(value, 40)}`);
  }

  private missingOrNull(event: JsonObject, draft: Draft): void {
    const path = this.rng.pick(TYPED_PATHS);
    const how = this.rng.pick(["delete", "null", "empty"] as const);
    if (how === "delete") deletePath(event, path);
    else setPath(event, path, how === "null" ? null : "");
    draft.notes.push(`${path.join(".")} ${how === "delete" ? "deleted" : `= ${how === "null" ? "null" : '""'}`}`);
  }

  private time(event: JsonObject, draft: Draft): void {
    const onSession = this.rng.chance(0.25);
    const value = this.rng.chance(0.5)
      ? this.randomTime()
      : this.rng.chance(0.5)
        ? this.rng.pick(VALID_TIMES)
        : this.rng.pick(INVALID_TIMES);
    if (onSession) setPath(event, ["userIdentity", "sessionContext", "attributes", "creationDate"], value);
    else event.eventTime = value;
    draft.notes.push(`${onSession ? "creationDate" : "eventTime"} = ${show(value, 50)}`);
  }

  /** A valid time of the contract in one of its spellings, away from the range's edges when zoned. */
  private randomTime(): string {
    const year = this.rng.chance(0.7) ? this.rng.int(2015, 2030) : this.rng.int(1971, 9998);
    const month = this.rng.int(1, 12);
    const day = this.rng.int(1, daysInMonth(year, month));
    const two = (n: number) => String(n).padStart(2, "0");
    let text = `${year}-${two(month)}-${two(day)}${this.rng.chance(0.8) ? "T" : " "}${two(this.rng.int(0, 23))}:${two(this.rng.int(0, 59))}`;
    if (this.rng.chance(0.85)) {
      text += `:${two(this.rng.int(0, 59))}`;
      if (this.rng.chance(0.4)) text += `.${String(this.rng.int(0, 999)).padStart(3, "0")}`;
    }
    const zone = this.rng.weightedPair<string>([
      ["Z", 5],
      ["", 3],
      [`${this.rng.pick(["+", "-"])}${two(this.rng.int(0, 14))}:${this.rng.pick(["00", "30", "45"])}`, 3],
    ]);
    return text + zone;
  }

  private flagValue(event: JsonObject, draft: Draft): void {
    const path = this.rng.pick([
      ["isGlobal"],
      ["sensitiveAction"],
      ["eventAttributes", "SensitiveAction"],
      ["userIdentity", "sessionContext", "attributes", "mfaAuthenticated"],
    ]);
    const value = structuredClone(this.rng.pick(FLAG_VALUES));
    setPath(event, path, value);
    draft.notes.push(`${path.join(".")} = ${show(value)}`);
  }

  /** A Unicode string in a typed field, the eventId, an untyped field or a key. */
  private unicode(event: JsonObject, draft: Draft): void {
    const sample = this.rng.pick(UNICODE_STRINGS);
    const target = this.rng.weightedPair<string>([
      ["typed", 5],
      ["eventId", 2],
      ["untyped", 2],
      ["key", 1],
    ]);
    if (target === "eventId") {
      const id = String(event.eventId);
      event.eventId = this.rng.chance(0.5) ? `${id}${sample}` : `${sample}${id}`;
      draft.notes.push(`eventId with ${show(sample)}`);
    } else if (target === "typed") {
      const [path, limit] = this.rng.pick(TEXT_PATHS);
      const current = getPath(event, path);
      const base = typeof current === "string" && this.rng.chance(0.6) ? current : "";
      const value = fitLength(this.rng.chance(0.5) ? `${base}${sample}` : `${sample}${base}`, limit);
      setPath(event, path, value);
      draft.notes.push(`${path.join(".")} = ${show(value, 60)}`);
    } else if (target === "untyped") {
      const holder = isObject(event.requestParameters) && this.rng.chance(0.5) ? event.requestParameters : event;
      defineKey(holder, "fuzzText", `x${sample}y`);
      draft.notes.push(`untyped fuzzText with ${show(sample)}`);
    } else {
      defineKey(event, `fuzz${sample}`, sample);
      draft.notes.push(`key with ${show(sample)}`);
    }
    // The same value written with every non-ASCII character as a \u escape: other bytes, same JSON.
    if (this.rng.chance(0.3)) {
      draft.text = asciiEscaped(JSON.stringify(event));
      draft.notes.push("non-ASCII written as \\u escapes");
    }
  }

  private hostileKey(event: JsonObject, draft: Draft): void {
    const key = this.rng.pick(HOSTILE_KEYS);
    const holders: JsonObject[] = [event];
    if (isObject(event.requestParameters)) holders.push(event.requestParameters);
    if (isObject(event.userIdentity)) holders.push(event.userIdentity);
    const holder = this.rng.pick(holders);
    const value = this.rng.pick<unknown>(["value", 1, null, { nested: true }, [key]]);
    // A key that is already there keeps its typed meaning: only new keys are added.
    if (Object.hasOwn(holder, key)) return;
    defineKey(holder, key, structuredClone(value));
    draft.notes.push(`key ${show(key)}${holder === event ? "" : " nested"}`);
  }

  private payload(event: JsonObject, draft: Draft): void {
    const part = this.rng.pick(["requestParameters", "responseElements", "additionalEventData"]);
    const variants: Array<[string, () => unknown]> = [
      ["object as a JSON string", () => JSON.stringify({ Foo: "bar", Count: 2, Nested: { List: [1, "2"] } })],
      ["JSON string padded", () => `  ${JSON.stringify({ Padded: true })}\n`],
      ["array as a JSON string", () => '[1,"two",{"three":3}]'],
      ["broken JSON string", () => "{not json"],
      ["plain string", () => "plain text, not JSON"],
      ["empty string", () => ""],
      ["number", () => 7],
      ["boolean", () => false],
      ["null", () => null],
      ["empty object", () => ({})],
      ["empty array", () => []],
    ];
    const [name, make] = this.rng.pick(variants);
    event[part] = make();
    if (part === "requestParameters" && this.rng.chance(0.4)) {
      event.requestParameterJson = this.rng.chance(0.5) ? JSON.stringify({ FromJson: 1 }) : { FromJson: 2 };
      draft.notes.push("requestParameterJson too");
    }
    draft.notes.push(`${part}: ${name}`);
  }

  private valueMutation(name: (typeof VALUE_CLASSES)[number], event: JsonObject, draft: Draft): void {
    switch (name) {
      case "wrong-type":
        return this.wrongType(event, draft);
      case "missing-or-null":
        return this.missingOrNull(event, draft);
      case "times":
        return this.time(event, draft);
      case "flags":
        return this.flagValue(event, draft);
      case "unicode":
        return this.unicode(event, draft);
      case "keys":
        return this.hostileKey(event, draft);
      case "payload":
        return this.payload(event, draft);
    }
  }

  // --- random records ----------------------------------------------------------------------

  private random(cls: string): void {
    const event = this.base();
    const draft = this.draft(event);
    // A second (or third) value mutation on some records: defects come in company.
    const stack = () => {
      for (let n = this.rng.chance(0.25) ? this.rng.int(1, 2) : 0; n > 0; n--) {
        this.valueMutation(this.rng.pick(VALUE_CLASSES), event, draft);
      }
    };
    switch (cls) {
      case "clean":
        draft.notes.push("as delivered");
        this.add(cls, draft);
        return;
      case "wrong-type":
      case "missing-or-null":
      case "times":
      case "flags":
      case "unicode":
      case "keys":
      case "payload":
        this.valueMutation(cls, event, draft);
        if (draft.text === undefined) stack();
        this.add(cls, draft);
        return;
      case "limits":
        this.limits(event, draft);
        this.add(cls, draft);
        return;
      case "huge":
        this.huge(event, draft);
        this.add(cls, draft);
        return;
      case "deep-nesting":
        stack();
        this.deep(
          draft,
          this.rng.chance(0.06) ? this.rng.int(MAX_JSON_DEPTH, this.maxDepth) : this.rng.logInt(2, 2000),
        );
        this.add(cls, draft);
        return;
      case "look-alike":
        this.lookAlikeGroup();
        return;
      case "numbers":
        stack();
        this.numbers(draft);
        this.add(cls, draft);
        return;
      case "duplicate-keys":
        stack();
        this.duplicateKeys(draft);
        this.add(cls, draft);
        return;
      case "broken-json":
        stack();
        for (let attempt = 0; attempt < 20; attempt++) {
          const broken: Draft = { text: this.textOf(draft), notes: [...draft.notes] };
          this.breakJson(broken);
          if (this.add(cls, broken)) return;
        }
        return;
      case "invalid-utf8":
        stack();
        this.invalidUtf8(event, draft);
        this.add(cls, draft);
        return;
      case "not-object":
        this.add(cls, this.notObject());
        return;
      case "redelivery":
        this.redelivery();
        return;
    }
    throw new Error(`unknown mutation class ${cls}`);
  }

  /** A typed field (or the eventId) exactly at its column limit, or one code unit over it. */
  private limits(event: JsonObject, draft: Draft, choice?: { path: readonly string[]; limit: number; over: boolean }) {
    const [path, limit] = choice
      ? [choice.path, choice.limit]
      : this.rng.chance(0.15)
        ? [["eventId"], EVENT_ID_LIMIT]
        : this.rng.pick(TEXT_PATHS.filter(([, max]) => max !== Infinity));
    const over = choice ? choice.over : this.rng.chance(0.5);
    const length = limit + (over ? 1 : 0);
    let value = stringOf(this.rng, length);
    // Keep eventIds unique: the fresh ID leads, the filler makes up the length.
    if (path[0] === "eventId") value = (String(event.eventId) + value).slice(0, length);
    setPath(event, path, value);
    draft.notes.push(`${path.join(".")} of ${length} code units (limit ${limit})`);
  }

  private huge(event: JsonObject, draft: Draft): void {
    const length = this.rng.logInt(10_000, this.maxHugeLength);
    const kind = this.rng.pick(["userAgent", "errorMessage", "blob", "array", "many keys"] as const);
    const chars = this.rng.chance(0.5) ? BMP_CHARS : ["a"];
    if (kind === "userAgent" || kind === "errorMessage") {
      event[kind] = stringOf(this.rng, length, chars);
      if (kind === "errorMessage") event.errorCode = "Fuzz.HugeMessage";
    } else if (kind === "blob") {
      defineKey(event, "fuzzBlob", stringOf(this.rng, length, chars));
    } else if (kind === "array") {
      defineKey(
        event,
        "fuzzList",
        Array.from({ length: Math.ceil(length / 8) }, (_, i) => (i % 3 === 0 ? i : `s${i}`)),
      );
    } else {
      const many: JsonObject = {};
      for (let i = 0; i < Math.ceil(length / 16); i++) many[`k${i}`] = i;
      defineKey(event, "fuzzKeys", many);
    }
    draft.notes.push(`${kind} of about ${length}`);
  }

  /** The event with a member nested so that the record is `depth` levels deep. */
  private deep(draft: Draft, depth: number): void {
    const text = this.textOf(draft);
    draft.text = appendMember(text, "fuzzDeep", nestedText(Math.max(1, depth - 1)));
    draft.notes.push(`nested ${depth} levels`);
  }

  private numbers(draft: Draft): void {
    const token = this.rng.pick(NUMBER_TOKENS);
    const where = this.rng.pick(["extra", "nested", "eventVersion", "isGlobal"] as const);
    const text = this.textOf(draft);
    if (where === "extra") draft.text = appendMember(text, "fuzzNumber", token);
    else if (where === "nested") draft.text = appendMember(text, "fuzzNumbers", `[[{"n":${token}}],${token}]`);
    // A later duplicate key replaces the field's value.
    else draft.text = appendMember(text, where, token);
    draft.notes.push(`${token} in ${where}`);
  }

  private duplicateKeys(draft: Draft): void {
    const key = this.rng.pick([
      "eventId",
      "eventTime",
      "eventName",
      "errorCode",
      "userIdentity",
      "acsRegion",
      "isGlobal",
    ]);
    const later = this.rng.chance(0.5);
    let other: unknown;
    // Unique either way: a stacked mutation may have removed the other eventId, and then this one is the record's.
    if (key === "eventId") other = this.freshId(later ? "dup-last" : "dup-first");
    else if (key === "eventTime") other = this.rng.pick(VALID_TIMES);
    else if (key === "userIdentity") other = { type: "ram-user", userName: "dup-user", accountId: "999" };
    else other = this.rng.pick(["dup-value", 7, null, true, ""]);
    const text = this.textOf(draft);
    draft.text = later
      ? appendMember(text, key, JSON.stringify(other))
      : prependMember(text, key, JSON.stringify(other));
    draft.notes.push(`${key} twice (${later ? "the added one last" : "the added one first"})`);
  }

  /** One byte-level defect at a random position (the first byte kept, so the line still starts a value). */
  private breakJson(draft: Draft): void {
    const bytes = Buffer.from(draft.text ?? "", "utf8");
    const at = this.rng.int(1, bytes.length - 1);
    const kind = this.rng.weightedPair<string>([
      ["truncate", 4],
      ["delete", 2],
      ["replace", 2],
      ["insert", 2],
      ["control", 1],
      ["masked number", 1],
      ["trailing comma", 1],
      ["NaN", 1],
      ["comment", 1],
    ]);
    const structural = [...'{}[]",:\\x0-.eEtn '].map((c) => c.charCodeAt(0));
    let out: Buffer;
    if (kind === "truncate") out = bytes.subarray(0, at);
    else if (kind === "delete") out = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1)]);
    else if (kind === "replace") {
      out = Buffer.from(bytes);
      out[at] = this.rng.pick(structural);
    } else if (kind === "insert") {
      out = Buffer.concat([bytes.subarray(0, at), Buffer.from([this.rng.pick(structural)]), bytes.subarray(at)]);
    } else if (kind === "control") {
      // A raw control character inside a string: JSON wants it escaped.
      const positions = stringPositions(bytes);
      const inside = positions.length > 0 ? this.rng.pick(positions) : 2;
      out = Buffer.concat([
        bytes.subarray(0, inside),
        Buffer.from([this.rng.pick([0x01, 0x09, 0x1f])]),
        bytes.subarray(inside),
      ]);
    } else if (kind === "masked number") {
      out = Buffer.from(appendMember(draft.text ?? "{}", "recipientAccountId", "151266687691****"), "utf8");
    } else if (kind === "trailing comma") {
      out = Buffer.concat([bytes.subarray(0, bytes.length - 1), Buffer.from(",}")]);
    } else if (kind === "NaN") {
      out = Buffer.from(
        appendMember(draft.text ?? "{}", "fuzzNaN", this.rng.pick(["NaN", "Infinity", "-Infinity", "undefined"])),
        "utf8",
      );
    } else {
      out = Buffer.concat([bytes.subarray(0, bytes.length - 1), Buffer.from(',/* comment */"a":1}')]);
    }
    draft.bytes = out;
    draft.notes.push(`${kind} at byte ${at} of ${bytes.length}`);
  }

  /** Invalid UTF-8 bytes inside a string value or a key (the JSON around them intact). */
  private invalidUtf8(event: JsonObject, draft: Draft): void {
    const marker = "@@INVALID-UTF8@@";
    const where = this.rng.pick(["eventName", "eventId", "userAgent", "fuzzNote", "key", "nested"] as const);
    if (where === "eventId") event.eventId = `${String(event.eventId)}${marker}`;
    else if (where === "key") defineKey(event, `fuzz${marker}`, 1);
    else if (where === "nested") setPath(event, ["requestParameters", "FuzzNote"], `a${marker}b`);
    else defineKey(event, where, `x${marker}y`);
    const text = this.textOf(draft);
    const sequence = Buffer.from(this.rng.pick(INVALID_UTF8));
    const [head, ...rest] = text.split(marker);
    draft.bytes = Buffer.concat([Buffer.from(head, "utf8"), sequence, Buffer.from(rest.join(marker), "utf8")]);
    draft.notes.push(`bytes ${sequence.toString("hex")} in ${where}`);
  }

  private notObject(): Draft {
    const values: Array<[string, string]> = [
      ["a number", "42"],
      ["a negative decimal", "-1.5e3"],
      ["a string", '"just a string"'],
      ["true", "true"],
      ["false", "false"],
      ["null", "null"],
      ["an empty object", "{}"],
      ["an event under another key", JSON.stringify({ event: this.base() })],
      ["an empty array", "[]"],
      ["an array of an event", JSON.stringify([this.base()])],
      ["an array of numbers", "[1,2,3]"],
    ];
    const [name, text] = this.rng.pick(values);
    return { text, notes: [name] };
  }

  /** An exact copy of a stored record (a re-delivery), or the same event with its keys in another order. */
  private redelivery(): void {
    if (this.storedSoFar.length === 0) {
      this.random("clean");
      return;
    }
    const original = this.rng.pick(this.storedSoFar);
    if (this.rng.chance(0.6) || original.expected.kind !== "stored") {
      this.add("redelivery", { bytes: Buffer.from(original.bytes), notes: [`copy of record ${original.index}`] });
    } else {
      this.add("redelivery", {
        text: JSON.stringify(reversedKeys(original.expected.raw)),
        notes: [`record ${original.index} with its keys reversed`],
      });
    }
  }

  /**
   * Events whose eventIds (and user names) differ only in letter case, accents (NFC/NFD or
   * none), spaces, full-width digits, homoglyphs or invisible characters: each is an event of
   * its own.
   */
  private lookAlikeGroup(): void {
    const group = this.lookAlikeGroups++;
    const stem = `Look-Alike-Caf\u00e9-Stra\u00dfe-${this.options.seed}-${group}-Root-2021`;
    const names = lookAlikes("Root-Caf\u00e9");
    lookAlikes(stem).forEach((eventId, n) => {
      const event = this.base();
      event.eventId = eventId;
      if (isObject(event.userIdentity)) event.userIdentity.userName = names[n % names.length];
      this.add("look-alike", { value: event, notes: [`eventId ${show(eventId)}`] });
    });
  }

  // --- specials: the deterministic hostile cases every run has ----------------------------

  private specials(): void {
    const rng = this.rng;
    const small = (extra: JsonObject = {}): JsonObject => ({
      eventId: this.freshId("small"),
      eventTime: "2021-08-02T06:30:17Z",
      eventName: "QueryBill",
      ...extra,
    });
    const addValue = (cls: string, value: unknown, note: string) => this.add(cls, { value, notes: [note] });
    const addText = (cls: string, text: string, note: string) => this.add(cls, { text, notes: [note] });

    this.add("clean", { value: sampleEvents()[0], notes: ["the documentation's sample, its own eventId"] });
    this.add("clean", { value: this.base(), notes: ["as delivered"] });

    // eventId: the contract's every rule.
    for (const value of INVALID_EVENT_IDS)
      addValue("wrong-type", small({ eventId: value }), `eventId = ${show(value)}`);
    addValue("missing-or-null", (({ eventId: _omitted, ...rest }) => rest)(small()), "no eventId");
    addValue("missing-or-null", (({ eventTime: _omitted, ...rest }) => rest)(small()), "no eventTime");
    addValue("unicode", small({ eventId: `${this.freshId()}\ud800` }), "eventId with a lone surrogate");
    addValue("unicode", small({ eventId: `\udc00${this.freshId()}` }), "eventId with a lone low surrogate");
    addValue("unicode", small({ eventId: `${this.freshId()}\u0000nul` }), "eventId with NUL");
    addValue("unicode", small({ eventId: `${this.freshId()}   ` }), "eventId with trailing spaces");
    addValue("unicode", small({ eventId: `\t${this.freshId()}` }), "eventId with a leading tab");
    for (const over of [false, true]) {
      for (const char of ["a", "\u00e9", "\u4e2d"]) {
        const id = (this.freshId() + char.repeat(EVENT_ID_LIMIT)).slice(0, EVENT_ID_LIMIT + (over ? 1 : 0));
        addValue("limits", small({ eventId: id }), `eventId of ${id.length} code units (${show(char)})`);
      }
      const astral = `${"\ud83d\ude00".repeat(EVENT_ID_LIMIT / 2 - 8)}${this.freshId().slice(0, 16).padEnd(16, "-")}${over ? "x" : ""}`;
      addValue("limits", small({ eventId: astral }), `eventId of ${astral.length} code units, emoji`);
    }

    // Every typed field at its limit and one over; every typed field with a lone surrogate, NUL, blank.
    for (const [path, limit] of TEXT_PATHS) {
      if (limit === Infinity) continue;
      for (const over of [false, true]) {
        const draft = this.draft(this.base());
        this.limits(draft.value as JsonObject, draft, { path, limit, over });
        this.add("limits", draft);
      }
    }
    for (const [path] of TEXT_PATHS) {
      for (const value of ["a\ud800b", "x\u0000y", " \u3000\u00a0 ", "\u200b", "caf\u00e9 \ud83d\ude00 e\u0301"]) {
        const event = this.base();
        setPath(event, path, value);
        addValue("unicode", event, `${path.join(".")} = ${show(value)}`);
      }
    }

    // Times and flags: every listed spelling.
    for (const value of [...VALID_TIMES, ...INVALID_TIMES]) {
      addValue("times", { ...this.base(), eventTime: value }, `eventTime = ${show(value)}`);
    }
    for (const value of [...VALID_TIMES.slice(0, 4), "not a time", 1627889417, null]) {
      const event = this.base();
      setPath(event, ["userIdentity", "sessionContext", "attributes", "creationDate"], value);
      addValue("times", event, `creationDate = ${show(value)}`);
    }
    for (const value of FLAG_VALUES) {
      const event = this.base();
      event.isGlobal = structuredClone(value);
      setPath(event, ["eventAttributes", "SensitiveAction"], structuredClone(value));
      setPath(event, ["userIdentity", "sessionContext", "attributes", "mfaAuthenticated"], structuredClone(value));
      addValue("flags", event, `every flag = ${show(value)}`);
    }
    {
      const event = this.base();
      event.eventAttributes = { SensitiveAction: null };
      event.sensitiveAction = "true";
      addValue("flags", event, 'eventAttributes.SensitiveAction null, sensitiveAction "true"');
    }
    for (const value of ["a string", 7, [], null]) {
      addValue("wrong-type", { ...this.base(), userIdentity: value }, `userIdentity = ${show(value)}`);
    }
    addValue("wrong-type", { ...this.base(), userIdentity: {} }, "userIdentity = {}");

    // Huge: long stored values, and one record over the reader's limit.
    addValue("huge", { ...this.base(), userAgent: stringOf(rng, 1024 * 1024) }, "userAgent of 1 Mi code units");
    addValue(
      "huge",
      { ...this.base(), errorCode: "Huge", errorMessage: "\u00e9".repeat(70_000) },
      "errorMessage of 140 KB",
    );
    addValue("huge", { ...this.base(), fuzzBlob: "b".repeat(2 * 1024 * 1024) }, "a 2 MiB string");
    addValue("huge", { ...this.base(), fuzzList: Array.from({ length: 100_000 }, (_, i) => i) }, "an array of 100,000");
    if (this.options.oversized ?? true) {
      const id = this.freshId("oversized");
      const text = `{"eventId":${JSON.stringify(id)},"eventTime":"2021-08-02T06:30:17Z","fuzzBlob":"${"o".repeat(MAX_RECORD_BYTES + 4096)}"}`;
      addText("huge", text, `a record of ${text.length} bytes`);
    }

    // Deep nesting around the limit, MariaDB's and MySQL's JSON limits, and far beyond.
    for (const depth of [
      2,
      31,
      32,
      33,
      100,
      101,
      MAX_JSON_DEPTH - 1,
      MAX_JSON_DEPTH,
      MAX_JSON_DEPTH + 1,
      1000,
      50_000,
    ]) {
      const draft = this.draft(this.base());
      this.deep(draft, depth);
      this.add("deep-nesting", draft);
    }
    addText("deep-nesting", nestedText(MAX_JSON_DEPTH + 2), "an array nested beyond the limit, no event");
    {
      const event = this.base();
      let inner: JsonObject = { leaf: true };
      for (let i = 0; i < MAX_JSON_DEPTH - 3; i++) inner = { d: inner };
      event.requestParameters = inner;
      addValue("deep-nesting", event, `requestParameters nested to level ${MAX_JSON_DEPTH}`);
    }

    // Keys, payloads, numbers, duplicate keys.
    for (const key of HOSTILE_KEYS) {
      const event = this.base();
      if (Object.hasOwn(event, key)) continue;
      defineKey(event, key, { nested: key });
      if (isObject(event.requestParameters)) defineKey(event.requestParameters, key, key);
      addValue("keys", event, `key ${show(key)}`);
    }
    addText(
      "keys",
      `{"eventId":${JSON.stringify(this.freshId())},"eventTime":"2021-08-02T06:30:17Z","__proto__":{"isGlobal":true},"userIdentity":{"__proto__":{"type":"root-account"},"type":"ram-user"}}`,
      "__proto__ members in the text",
    );
    for (let n = 0; n < 6; n++) {
      const draft = this.draft(this.base());
      this.payload(draft.value as JsonObject, draft);
      this.add("payload", draft);
    }
    for (const token of NUMBER_TOKENS) {
      addText("numbers", appendMember(JSON.stringify(this.base()), "fuzzNumber", token), `${token} in an extra member`);
    }
    addText("numbers", appendMember(JSON.stringify(this.base()), "eventVersion", "1e21"), "eventVersion 1e21");
    addText("numbers", appendMember(JSON.stringify(this.base()), "eventVersion", "-0"), "eventVersion -0");
    addText(
      "numbers",
      appendMember(JSON.stringify(this.base()), "fuzzDeepNumber", `${"[".repeat(40)}1e400${"]".repeat(40)}`),
      "1e400 nested 40 levels",
    );
    for (const key of ["eventId", "eventTime", "eventName", "userIdentity", "isGlobal"]) {
      for (const later of [false, true]) {
        const event = this.base();
        const other =
          key === "eventId"
            ? later
              ? this.freshId("dup-second")
              : this.freshId("dup-first")
            : key === "eventTime"
              ? "2030-01-01T00:00:00Z"
              : key === "userIdentity"
                ? { type: "ram-user", userName: "second" }
                : "dup";
        const text = JSON.stringify(event);
        addText(
          "duplicate-keys",
          later ? appendMember(text, key, JSON.stringify(other)) : prependMember(text, key, JSON.stringify(other)),
          `${key} twice, ${later ? "the added one last" : "the added one first"}`,
        );
      }
    }

    // Broken JSON: a small event with escapes cut at every byte, and each kind of defect.
    const sweep = Buffer.from(
      JSON.stringify({
        eventId: this.freshId("sweep"),
        eventTime: "2021-08-02T06:30:17Z",
        eventName: 'Quo"te\\d',
        userAgent: "caf\u00e9 \ud83d\ude00 \u0001",
        userIdentity: { type: "root-account" },
        requestParameters: { List: [1, 2.5, true, null] },
      }),
      "utf8",
    );
    for (let at = 1; at < sweep.length; at++) {
      this.add("broken-json", { bytes: sweep.subarray(0, at), notes: [`cut at byte ${at} of ${sweep.length}`] });
    }
    for (let n = 0; n < 12; n++) this.random("broken-json");
    addText(
      "broken-json",
      appendMember(JSON.stringify(small()), "recipientAccountId", "151266687691****"),
      "the documentation's unquoted masked number",
    );

    for (const sequence of INVALID_UTF8) {
      const event = small({ eventName: "@@BAD@@" });
      const [head, tail] = JSON.stringify(event).split("@@BAD@@");
      this.add("invalid-utf8", {
        bytes: Buffer.concat([Buffer.from(head), Buffer.from(sequence), Buffer.from(tail)]),
        notes: [`bytes ${Buffer.from(sequence).toString("hex")} in eventName`],
      });
    }
    for (let n = 0; n < 11; n++) this.add("not-object", this.notObject());
    this.lookAlikeGroup();
    for (let n = 0; n < 3; n++) this.redelivery();
  }
}

/**
 * eventIds that records of a corpus expect stored with different content: there must be none
 * (only exact re-deliveries share an eventId), or the accounting would blame the ingest for the
 * corpus's own clash.
 */
export function conflictingIds(records: readonly FuzzRecord[]): string[] {
  const seen = new Map<string, unknown>();
  const clashes = new Set<string>();
  for (const { expected } of records) {
    if (expected.kind !== "stored") continue;
    if (!seen.has(expected.eventId)) seen.set(expected.eventId, expected.raw);
    else if (!jsonEqual(seen.get(expected.eventId), expected.raw)) clashes.add(expected.eventId);
  }
  return [...clashes];
}

/** Variants of `text` that differ only in case, accents, spaces, digits' width, homoglyphs or invisible characters. */
export function lookAlikes(text: string): string[] {
  const variants = [
    text,
    text.toLowerCase(),
    text.toUpperCase(),
    text.normalize("NFD"),
    text.normalize("NFD").replace(/[\u0300-\u036f]/g, ""),
    `${text} `,
    ` ${text}`,
    text.replace(/[0-9]/g, (digit) => String.fromCharCode(0xff10 + Number(digit))),
    text.replace(/o/g, "\u043e").replace(/a/g, "\u0430"),
    text.replace("-", "-\u200b"),
    text.replace(/\u00df/g, "ss"),
    text.replace(/-/g, "\u2010"),
  ];
  return [...new Set(variants)];
}

/** The same JSON with every object's keys in reverse order (a re-delivery written differently). */
function reversedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reversedKeys);
  if (!isObject(value)) return value;
  const out: JsonObject = {};
  for (const key of Object.keys(value).reverse()) defineKey(out, key, reversedKeys(value[key]));
  return out;
}

/** JSON text with every non-ASCII character as a \u escape (all of them are inside strings). */
function asciiEscaped(text: string): string {
  return text.replace(/[\u0080-\uffff]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/**
 * A typed value cut so that its length in code units and in characters fall on the same side
 * of the limit: whether a column counts one or the other is not what these records test.
 */
function fitLength(value: string, limit: number): string {
  if (limit === Infinity || value.length <= limit) return value;
  if ([...value].length > limit) return value;
  let cut = value.slice(0, limit);
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return cut;
}

// ---------------------------------------------------------------------------------------------
// Documents: records framed as JSON lines or a JSON array.

export interface FuzzFile {
  name: string;
  framing: "lines" | "array";
  bytes: Buffer;
  /** Every record in the file with the position the reader gives it. */
  entries: Array<{ record: FuzzRecord; position: string }>;
}

export interface LayoutOptions {
  seed: number;
  /** Records per file (default 60). */
  perFile?: number;
}

/**
 * Puts records in files, JSON lines and JSON arrays alternately, so that each record is exactly
 * one record of the reader at a known position: a JSON lines file starts with a clean event
 * (the reader then knows it reads JSON lines, and a broken line costs only itself), a record
 * broken in its structure only goes in JSON lines and is followed by a line that starts with
 * `{`, and a top-level array only goes in a JSON array (in JSON lines its elements would be
 * records). Those clean events ("anchors") are records too, returned among the entries.
 */
export function layoutFiles(records: readonly FuzzRecord[], options: LayoutOptions): FuzzFile[] {
  const rng = new Rng(options.seed, 2);
  const pool = basePool(options.seed);
  const perFile = options.perFile ?? 60;
  let nextIndex = records.reduce((max, record) => Math.max(max, record.index), -1) + 1;
  const anchor = (): FuzzRecord => {
    const event = structuredClone(rng.pick(pool).event);
    event.eventId = `anchor~${options.seed}.${nextIndex}`;
    const bytes = Buffer.from(JSON.stringify(event), "utf8");
    return { index: nextIndex++, cls: "clean", mutations: ["anchor"], bytes, framing: "any", expected: oracle(bytes) };
  };
  const files: FuzzFile[] = [];
  const open: Record<"lines" | "array", FuzzRecord[]> = { lines: [], array: [] };
  const close = (framing: "lines" | "array") => {
    const list = open[framing];
    if (list.length === 0) return;
    files.push(framing === "lines" ? linesFile(files.length, list) : arrayFile(files.length, list));
    open[framing] = [];
  };
  for (const record of records) {
    const framing = record.framing === "any" ? (rng.chance(0.5) ? "lines" : "array") : record.framing;
    const list = open[framing];
    if (framing === "lines") {
      if (list.length === 0) list.push(anchor());
      const previous = list[list.length - 1];
      if (previous.framing === "lines" && record.bytes[0] !== 0x7b && record.bytes[0] !== 0x5b) list.push(anchor());
    }
    list.push(record);
    if (list.length >= perFile) close(framing);
  }
  // A file of one value would be "document", not "line 1": every file has two records or more.
  for (const framing of ["lines", "array"] as const) {
    if (open[framing].length === 1) open[framing].push(anchor());
    close(framing);
  }
  return files;
}

function linesFile(n: number, records: FuzzRecord[]): FuzzFile {
  const parts: Buffer[] = [];
  for (const record of records) parts.push(record.bytes, Buffer.from("\n"));
  return {
    name: `fuzz-${String(n).padStart(3, "0")}.jsonl`,
    framing: "lines",
    bytes: Buffer.concat(parts),
    entries: records.map((record, i) => ({ record, position: `line ${i + 1}` })),
  };
}

function arrayFile(n: number, records: FuzzRecord[]): FuzzFile {
  const parts: Buffer[] = [Buffer.from("[")];
  records.forEach((record, i) => parts.push(...(i > 0 ? [Buffer.from(",")] : []), record.bytes));
  parts.push(Buffer.from("]\n"));
  return {
    name: `fuzz-${String(n).padStart(3, "0")}.json`,
    framing: "array",
    bytes: Buffer.concat(parts),
    entries: records.map((record, i) => ({ record, position: `element ${i}` })),
  };
}

// ---------------------------------------------------------------------------------------------
// Accounting: every record found again in the store or among the rejects.

export type GraphQL = (
  query: string,
  variables?: Record<string, unknown>,
) => Promise<{ data?: any; errors?: Array<{ message: string; path?: ReadonlyArray<string | number> }> }>;

/** A record as ingested: the source name the ingest gave its document, and its position there. */
export interface Placement {
  record: FuzzRecord;
  source: string;
  position: string;
}

export type Outcome = "stored-and-equal" | "rejected-as-expected" | "mismatch" | "unaccounted";

export interface ClassRow {
  cls: string;
  records: number;
  stored: number;
  rejected: number;
  mismatches: number;
  unaccounted: number;
}

export interface Problem {
  outcome: "mismatch" | "unaccounted" | "unexpected event" | "unexpected reject";
  cls: string;
  record?: number;
  mutations: string[];
  where: string;
  detail: string;
}

export interface Accounting {
  rows: ClassRow[];
  total: ClassRow;
  problems: Problem[];
  /** Stored events and rejects that belong to no record. */
  unexpected: number;
}

/**
 * Reads the store back: every event (`events`, paged), every expected event again by
 * `event(eventId:)`, every reject (`ingestRejects`), and sorts each record.
 */
export async function accountFor(placements: readonly Placement[], graphql: GraphQL): Promise<Accounting> {
  const sources = new Set(placements.map((placement) => placement.source));
  const rejects = await allRejects(graphql, sources);
  const { ids: storedIds, nodes: listed, failures: listFailures } = await allEvents(graphql);
  const expectedIds = new Set<string>();
  for (const { record } of placements) if (record.expected.kind === "stored") expectedIds.add(record.expected.eventId);
  const looked = await lookUp(graphql, [...expectedIds]);

  const rows = new Map<string, ClassRow>();
  const problems: Problem[] = [];
  const positions = new Set<string>();
  const rejectedIds = new Set<string>();
  for (const placement of placements) {
    const { record, source, position } = placement;
    positions.add(`${source}\u0000${position}`);
    const reason = rejects.get(`${source}\u0000${position}`);
    let outcome: Outcome;
    let detail = "";
    const expected = record.expected;
    if (expected.kind === "stored") {
      const byLookup = looked.get(expected.eventId);
      const inList = listed.get(expected.eventId);
      const listWrong = inList
        ? differences(expected, inList)
        : listFailures.length > 0
          ? []
          : ["missing from the events list"];
      if (reason !== undefined) {
        outcome = "mismatch";
        detail = `rejected (${reason}); the contract stores it`;
      } else if (byLookup === undefined || byLookup === null) {
        const listedOnly = storedIds.has(expected.eventId);
        outcome = listedOnly ? "mismatch" : "unaccounted";
        detail = listedOnly ? "listed by events but not found by event(eventId:)" : "neither stored nor rejected";
      } else if (typeof byLookup === "string") {
        outcome = "mismatch";
        detail = `event(eventId:) failed: ${byLookup}`;
      } else {
        const wrong = differences(expected, byLookup);
        outcome = wrong.length === 0 && listWrong.length === 0 ? "stored-and-equal" : "mismatch";
        detail = wrong.length > 0 ? wrong.join("; ") : `in the list: ${listWrong.join("; ")}`;
      }
    } else {
      if (expected.eventId !== undefined) rejectedIds.add(expected.eventId);
      const stored =
        expected.eventId !== undefined && !expectedIds.has(expected.eventId) && storedIds.has(expected.eventId);
      if (stored) {
        outcome = "mismatch";
        detail = `stored; the contract rejects it (${expected.why})`;
      } else if (reason !== undefined) {
        outcome = "rejected-as-expected";
      } else {
        outcome = "unaccounted";
        detail = `neither rejected nor stored (the contract rejects it: ${expected.why})`;
      }
    }
    const row = rows.get(record.cls) ?? {
      cls: record.cls,
      records: 0,
      stored: 0,
      rejected: 0,
      mismatches: 0,
      unaccounted: 0,
    };
    rows.set(record.cls, row);
    row.records++;
    if (outcome === "stored-and-equal") row.stored++;
    else if (outcome === "rejected-as-expected") row.rejected++;
    else if (outcome === "mismatch") row.mismatches++;
    else row.unaccounted++;
    if (outcome === "mismatch" || outcome === "unaccounted") {
      problems.push({
        outcome,
        cls: record.cls,
        record: record.index,
        mutations: record.mutations,
        where: `${source} ${position}`,
        detail,
      });
    }
  }
  let unexpected = 0;
  for (const failure of listFailures) {
    problems.push({ outcome: "mismatch", cls: "-", mutations: [], where: "the events list", detail: failure });
  }
  for (const eventId of storedIds) {
    if (expectedIds.has(eventId) || rejectedIds.has(eventId)) continue;
    unexpected++;
    problems.push({
      outcome: "unexpected event",
      cls: "-",
      mutations: [],
      where: `eventId ${show(eventId)}`,
      detail: "stored, but no record has this eventId",
    });
  }
  for (const [key, reason] of rejects) {
    if (positions.has(key)) continue;
    unexpected++;
    const [source, position] = key.split("\u0000");
    problems.push({
      outcome: "unexpected reject",
      cls: "-",
      mutations: [],
      where: `${source} ${position}`,
      detail: reason,
    });
  }
  const list = [...rows.values()].sort((a, b) => a.cls.localeCompare(b.cls));
  const total: ClassRow = { cls: "total", records: 0, stored: 0, rejected: 0, mismatches: 0, unaccounted: 0 };
  for (const row of list) {
    total.records += row.records;
    total.stored += row.stored;
    total.rejected += row.rejected;
    total.mismatches += row.mismatches;
    total.unaccounted += row.unaccounted;
  }
  return { rows: list, total, problems, unexpected };
}

async function allRejects(graphql: GraphQL, sources: ReadonlySet<string>): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  let after: string | null = null;
  for (;;) {
    const response = await graphql(
      `
        query ($after: String) {
          ingestRejects(first: 500, after: $after) {
            pageInfo {
              hasNextPage
              endCursor
            }
            nodes {
              source
              position
              reason
            }
          }
        }
      `,
      { after },
    );
    if (response.errors?.length) throw new Error(`ingestRejects: ${JSON.stringify(response.errors)}`);
    const page = response.data.ingestRejects;
    for (const node of page.nodes as Array<{ source: string; position: string; reason: string }>) {
      if (!sources.has(node.source)) continue;
      const key = `${node.source}\u0000${node.position}`;
      found.set(key, found.has(key) ? `${found.get(key)} | ${node.reason}` : node.reason);
    }
    if (!page.pageInfo.hasNextPage) return found;
    after = page.pageInfo.endCursor;
  }
}

/**
 * Every stored event: first the IDs alone (so that one answer the API cannot give does not
 * hide the others), then every field, page by page; a page that fails is reported, not fatal.
 */
async function allEvents(
  graphql: GraphQL,
): Promise<{ ids: Set<string>; nodes: Map<string, JsonObject>; failures: string[] }> {
  const ids = new Set<string>();
  const nodes = new Map<string, JsonObject>();
  const failures: string[] = [];
  for (const selection of ["eventId", EVENT_SELECTION]) {
    let after: string | null = null;
    for (;;) {
      const response = await graphql(
        `query($after: String) { events(first: 500, after: $after) {
          pageInfo { hasNextPage endCursor } nodes { ${selection} } } }`,
        { after },
      );
      const page = response.data?.events;
      if (response.errors?.length || !page) {
        const failure = `events(first: 500${after ? `, after: ${JSON.stringify(after)}` : ""}) { ${selection === "eventId" ? "eventId" : "every field"} } failed: ${show(response.errors, 600)}`;
        if (selection === "eventId") throw new Error(failure);
        failures.push(failure);
      }
      for (const node of (page?.nodes ?? []) as JsonObject[]) {
        if (selection === "eventId") ids.add(node.eventId as string);
        else nodes.set(node.eventId as string, node);
      }
      // A failed page has no cursor to go on from: the lookups by eventId still check every event.
      if (!page?.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
  }
  return { ids, nodes, failures };
}

/** `event(eventId:)` for each ID, 25 to a request: the event, null, or the error's message. */
async function lookUp(graphql: GraphQL, eventIds: string[]): Promise<Map<string, JsonObject | null | string>> {
  const found = new Map<string, JsonObject | null | string>();
  for (let from = 0; from < eventIds.length; from += 25) {
    const batch = eventIds.slice(from, from + 25);
    const query =
      `query(${batch.map((_, i) => `$id${i}: ID!`).join(", ")}) { ` +
      batch.map((_, i) => `e${i}: event(eventId: $id${i}) { ${EVENT_SELECTION} }`).join(" ") +
      " }";
    const response = await graphql(query, Object.fromEntries(batch.map((id, i) => [`id${i}`, id])));
    const failed = new Map<string, string>();
    for (const error of response.errors ?? []) failed.set(String(error.path?.[0] ?? ""), error.message);
    batch.forEach((id, i) => {
      const error = failed.get(`e${i}`) ?? (response.data ? undefined : response.errors?.[0]?.message);
      found.set(id, error ?? (response.data?.[`e${i}`] as JsonObject | null));
    });
  }
  return found;
}

/** The accounting table, and the first problems in detail. */
export function formatAccounting(accounting: Accounting, details = 25): string {
  const header = ["class", "records", "stored=", "rejected=", "mismatches", "unaccounted"];
  const lines = [...accounting.rows, accounting.total].map((row) => [
    row.cls,
    String(row.records),
    String(row.stored),
    String(row.rejected),
    String(row.mismatches),
    String(row.unaccounted),
  ]);
  const widths = header.map((title, i) => Math.max(title.length, ...lines.map((line) => line[i].length)));
  const format = (cells: string[]) =>
    cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join("  ");
  const out = [
    format(header),
    ...lines.slice(0, -1).map(format),
    widths.map((w) => "-".repeat(w)).join("  "),
    format(lines[lines.length - 1]),
  ];
  if (accounting.unexpected > 0) out.push(`${accounting.unexpected} stored event(s) or reject(s) belong to no record`);
  const shown = accounting.problems.slice(0, details);
  if (shown.length > 0) {
    out.push("", `first ${shown.length} of ${accounting.problems.length} problem(s):`);
    for (const problem of shown) {
      out.push(
        `- ${problem.outcome} [${problem.cls}${problem.record === undefined ? "" : ` #${problem.record}`}] ${problem.where}` +
          (problem.mutations.length ? ` (${problem.mutations.join(", ").slice(0, 200)})` : "") +
          `: ${problem.detail.slice(0, 600)}`,
      );
    }
  }
  return out.join("\n");
}

/** Expected counts of a document's ingest summary. */
export function expectedCounts(entries: ReadonlyArray<{ record: FuzzRecord }>): {
  read: number;
  stored: number;
  rejected: number;
} {
  let stored = 0;
  let rejected = 0;
  for (const { record } of entries) {
    if (record.expected.kind === "stored") stored++;
    else rejected++;
  }
  return { read: entries.length, stored, rejected };
}
