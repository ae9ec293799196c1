import { LIMITS } from "../entities/columns";
import { identityKeyOf } from "../entities/user-identity.entity";
import { MAX_JSON_DEPTH } from "./limits";
import { inferResourceType } from "./resource-types";

/** An event as the writer stores it: every column typed, every link extracted. */
export interface NormalizedEvent {
  eventId: string;
  eventTime: Date;
  eventName: string | null;
  eventType: string | null;
  eventCategory: string | null;
  eventRW: string | null;
  eventVersion: string | null;
  eventSource: string | null;
  serviceName: string | null;
  acsRegion: string | null;
  requestId: string | null;
  apiVersion: string | null;
  sourceIpAddress: string | null;
  userAgent: string | null;
  vpcId: string | null;
  isGlobal: boolean | null;
  errorCode: string | null;
  errorMessage: string | null;
  failed: boolean;
  sensitiveAction: boolean | null;
  recipientAccountId: string | null;
  accountId: string | null;
  sessionCreatedAt: Date | null;
  mfaAuthenticated: boolean | null;
  identity: NormalizedIdentity | null;
  payload: {
    requestParameters: unknown;
    responseElements: unknown;
    additionalEventData: unknown;
    raw: Record<string, unknown>;
    /** `raw` as the JSON text the store keeps (written once, here). */
    rawText: string;
  };
  /** Every account the event names: owner, requester, recipient. */
  accountIds: string[];
  resources: ResourceRef[];
  orders: NormalizedOrder[];
}

export interface NormalizedIdentity {
  identityKey: string;
  type: string;
  accountId: string | null;
  principalId: string | null;
  userName: string | null;
  accessKeyId: string | null;
}

export interface ResourceRef {
  type: string;
  resourceId: string;
}

export interface NormalizedOrder {
  orderId: string;
  /** True when this event placed the order (a buy-page `Create`, CreateInstance, ...). */
  isPurchase: boolean;
  items: Array<ResourceRef & { articleConfig: Record<string, unknown> | null }>;
}

export interface NormalizeOptions {
  /** Owner for events whose identity and recipient name no account (`--account`). */
  defaultAccountId?: string | null;
}

/** A record that cannot be stored; `reason` says what is wrong with it. */
export class RejectedRecord extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

/** Order IDs are digits (masked ones end in `*`); order-keyed objects use them as keys. */
const ORDER_ID = /^[0-9][0-9*]*$/;

/** Operations whose event places the orders it names. */
const PURCHASE_EVENT_NAMES = new Set([
  "Create",
  "CreateInstance",
  "CreateResourcePackage",
  "CreateSavingsPlansInstance",
  "Buy",
]);

/**
 * Turns one parsed JSON value into a NormalizedEvent, or throws RejectedRecord. Real events
 * are loose: numbers where strings are expected and the reverse, `""` for absent, flattened
 * lists, masked values. Whatever the source said is kept in `payload.raw`, exactly: a record
 * whose JSON could not be given back as it came (nested deeper than MAX_JSON_DEPTH, a number
 * out of range) is rejected, as is one whose identity would be a guess (an eventId or
 * eventTime of the wrong JSON type) or a typed field that cannot be stored whole (too long
 * for its column, a lone UTF-16 surrogate, which UTF-8 cannot hold).
 */
export function normalizeEvent(value: unknown, options: NormalizeOptions = {}): NormalizedEvent {
  if (!isObject(value)) {
    throw new RejectedRecord(`not an event: expected a JSON object, got ${describe(value)}`);
  }
  checkStructure(value);
  if (value.eventId === undefined || value.eventId === null) {
    throw new RejectedRecord("not an event: it has no eventId");
  }
  if (typeof value.eventId !== "string") {
    throw new RejectedRecord(`eventId must be a JSON string, got ${describe(value.eventId)}`);
  }
  const eventId = text(value.eventId);
  if (eventId === null) throw new RejectedRecord("eventId is blank");
  checkText("eventId", eventId, LIMITS.eventId);
  const eventTime = parseEventTime(value.eventTime);

  const identity = normalizeIdentity(value.userIdentity);
  const userIdentity = isObject(value.userIdentity) ? value.userIdentity : {};
  const sessionAttributes = pathObject(userIdentity, "sessionContext", "attributes");
  const recipientAccountId = limited("recipientAccountId", text(value.recipientAccountId), LIMITS.accountId);
  const accountId = identity?.accountId ?? recipientAccountId ?? nonEmpty(options.defaultAccountId) ?? null;
  const errorCode = limited("errorCode", text(value.errorCode), LIMITS.name);
  const eventAttributes = isObject(value.eventAttributes) ? value.eventAttributes : {};

  const { requestParameters, responseElements, additionalEventData } = payloadParts(value);
  const serviceName = limited("serviceName", text(value.serviceName), LIMITS.shortText);
  const eventName = limited("eventName", text(value.eventName), LIMITS.name);

  const resources = new ResourceSet();
  collectReferencedResources(value, resources);
  const orders = collectOrders({
    eventName,
    serviceName,
    requestParameters,
    responseElements,
    additionalEventData,
    resources,
  });
  for (const order of orders) for (const item of order.items) resources.add(item.type, item.resourceId);

  const accountIds = unique([accountId, identity?.accountId ?? null, recipientAccountId]);

  return {
    eventId,
    eventTime,
    eventName,
    eventType: limited("eventType", text(value.eventType), LIMITS.shortText),
    eventCategory: limited("eventCategory", text(value.eventCategory), LIMITS.shortText),
    eventRW: limited("eventRW", text(value.eventRW), 16),
    eventVersion: limited("eventVersion", text(value.eventVersion), 16),
    eventSource: limited("eventSource", text(value.eventSource), LIMITS.name),
    serviceName,
    acsRegion: limited("acsRegion", text(value.acsRegion), LIMITS.shortText),
    requestId: limited("requestId", text(value.requestId), LIMITS.name),
    apiVersion: limited("apiVersion", text(value.apiVersion), LIMITS.shortText),
    sourceIpAddress: limited("sourceIpAddress", text(value.sourceIpAddress), LIMITS.shortText),
    userAgent: limited("userAgent", text(value.userAgent)),
    vpcId: limited("vpcId", text(value.vpcId), LIMITS.shortText),
    isGlobal: bool(value.isGlobal),
    errorCode,
    errorMessage: limited("errorMessage", text(value.errorMessage)),
    failed: errorCode !== null,
    sensitiveAction: bool(eventAttributes.SensitiveAction ?? value.sensitiveAction),
    recipientAccountId,
    accountId,
    sessionCreatedAt: parseTime(sessionAttributes.creationDate),
    mfaAuthenticated: bool(sessionAttributes.mfaAuthenticated),
    identity,
    payload: { requestParameters, responseElements, additionalEventData, raw: value, rawText: JSON.stringify(value) },
    accountIds,
    resources: resources.list(),
    orders: orders.map((order) => ({
      ...order,
      items: order.items.filter((item) => item.resourceId !== ""),
    })),
  };
}

/**
 * The JSON parts of an event as the API shows them: objects as they are, JSON held in
 * strings parsed (`requestParameterJson` stands in for absent `requestParameters`).
 */
export function payloadParts(raw: Record<string, unknown>): {
  requestParameters: unknown;
  responseElements: unknown;
  additionalEventData: unknown;
} {
  return {
    requestParameters: jsonish(raw.requestParameters) ?? jsonish(raw.requestParameterJson) ?? null,
    responseElements: jsonish(raw.responseElements) ?? null,
    additionalEventData: jsonish(raw.additionalEventData) ?? null,
  };
}

function normalizeIdentity(value: unknown): NormalizedIdentity | null {
  if (!isObject(value)) return null;
  const type = limited("userIdentity.type", text(value.type), LIMITS.shortText) ?? "unknown";
  const accountId = limited("userIdentity.accountId", text(value.accountId), LIMITS.accountId);
  const principalId = limited("userIdentity.principalId", text(value.principalId), LIMITS.principal);
  const userName = limited("userIdentity.userName", text(value.userName), LIMITS.principal);
  const accessKeyId = limited("userIdentity.accessKeyId", text(value.accessKeyId), LIMITS.name);
  const tuple = { type, accountId, principalId, userName, accessKeyId };
  return { identityKey: identityKeyOf(tuple), ...tuple };
}

/** Resources of one event, deduplicated, remembering each ID's type for untyped mentions. */
class ResourceSet {
  private readonly byKey = new Map<string, ResourceRef>();
  readonly typeOfId = new Map<string, string>();

  add(type: string, resourceId: string): void {
    if (type === "" || resourceId === "") return;
    checkText("resource type", type, LIMITS.resourceType);
    checkText("resource ID", resourceId, LIMITS.resourceId);
    const key = `${type}\u0000${resourceId}`;
    if (!this.byKey.has(key)) this.byKey.set(key, { type, resourceId });
    if (!this.typeOfId.has(resourceId)) this.typeOfId.set(resourceId, type);
  }

  list(): ResourceRef[] {
    return [...this.byKey.values()];
  }
}

function collectReferencedResources(event: Record<string, unknown>, into: ResourceSet): void {
  const referenced = jsonish(event.referencedResources);
  if (isObject(referenced)) {
    for (const [type, ids] of Object.entries(referenced)) {
      for (const id of idList(ids)) into.add(type.trim(), id);
    }
  }
  // `resourceType` "A;B" pairs with `resourceName` "a1,a2;b1": `;` between types, `,` within.
  const types = text(event.resourceType)?.split(";") ?? [];
  const names = text(event.resourceName)?.split(";") ?? [];
  types.forEach((type, index) => {
    for (const id of (names[index] ?? "").split(",")) into.add(type.trim(), id.trim());
  });
}

interface OrderSources {
  eventName: string | null;
  serviceName: string | null;
  requestParameters: unknown;
  responseElements: unknown;
  additionalEventData: unknown;
  resources: ResourceSet;
}

/**
 * Orders named by an event:
 * - a purchase's `additionalEventData.orderIds` (a comma-separated string) and its
 *   order-keyed objects `{resourceId, articleConfig}`, which auto-renewals carry alone;
 * - Expenses and Costs API calls naming `OrderId` in their request or response, with the
 *   instances they name (`InstanceId`, `InstanceIDs`) as the order's items.
 */
function collectOrders(sources: OrderSources): NormalizedOrder[] {
  const orders = new Map<string, NormalizedOrder>();
  const isPurchase = sources.eventName !== null && PURCHASE_EVENT_NAMES.has(sources.eventName);
  const order = (orderId: string): NormalizedOrder => {
    checkText("order ID", orderId, LIMITS.orderId);
    let found = orders.get(orderId);
    if (!found) {
      found = { orderId, isPurchase, items: [] };
      orders.set(orderId, found);
    }
    return found;
  };
  const product = text(findKey(sources.requestParameters, /^ProductCode$/i)[0]) ?? sources.serviceName;

  const additional = sources.additionalEventData;
  if (isObject(additional)) {
    for (const id of idList(additional.orderIds)) order(id);
    for (const [key, entry] of Object.entries(additional)) {
      if (!ORDER_ID.test(key) || !isObject(entry)) continue;
      if (!("resourceId" in entry || "articleConfig" in entry)) continue;
      const target = order(key.trim());
      const config = isObject(entry.articleConfig) ? entry.articleConfig : null;
      for (const resourceId of idList(entry.resourceId)) {
        const type = inferResourceType(resourceId, sources.resources.typeOfId, product);
        target.items.push({ type, resourceId, articleConfig: config });
      }
    }
  }

  const apiOrderIds = [
    ...findKey(sources.requestParameters, /^OrderId$/i),
    ...findKey(sources.responseElements, /^OrderId$/i),
  ].flatMap(idList);
  const instanceIds = [
    ...findKey(sources.requestParameters, /^Instance(Id|Ids|IDs)$/i),
    ...findKey(sources.responseElements, /^Instance(Id|Ids|IDs)$/i),
  ].flatMap(idList);
  for (const resourceId of instanceIds) {
    sources.resources.add(inferResourceType(resourceId, sources.resources.typeOfId, product), resourceId);
  }
  const distinctApiOrders = unique(apiOrderIds);
  for (const orderId of distinctApiOrders) {
    const target = order(orderId);
    // Instances belong to the order only when the call names exactly one order.
    if (distinctApiOrders.length !== 1) continue;
    for (const resourceId of unique(instanceIds)) {
      if (target.items.some((item) => item.resourceId === resourceId)) continue;
      const type = inferResourceType(resourceId, sources.resources.typeOfId, product);
      target.items.push({ type, resourceId, articleConfig: null });
    }
  }
  return [...orders.values()];
}

/** Values of every key matching `pattern` in a JSON tree (bounded walk). */
function findKey(tree: unknown, pattern: RegExp): unknown[] {
  const found: unknown[] = [];
  let budget = 2000;
  const walk = (node: unknown, depth: number): void => {
    if (budget-- <= 0 || depth > 8) return;
    if (Array.isArray(node)) {
      for (const child of node) walk(child, depth + 1);
    } else if (isObject(node)) {
      for (const [key, child] of Object.entries(node)) {
        if (pattern.test(key) && (typeof child === "string" || typeof child === "number" || Array.isArray(child))) {
          found.push(child);
        } else {
          walk(child, depth + 1);
        }
      }
    }
  };
  walk(tree, 0);
  return found;
}

/** A list of IDs from a string ("a,b"), a number, or an array of those. */
function idList(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(idList);
  const single = text(value);
  if (single === null) return [];
  return single
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part !== "");
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function pathObject(root: Record<string, unknown>, ...keys: string[]): Record<string, unknown> {
  let node: unknown = root;
  for (const key of keys) node = isObject(node) ? node[key] : undefined;
  return isObject(node) ? node : {};
}

/** A string from a string or number; null for missing, empty, or non-scalar values. */
function text(value: unknown): string | null {
  if (typeof value === "string") return value.trim() === "" ? null : value;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  if (typeof value === "boolean") return String(value);
  return null;
}

function nonEmpty(value: string | null | undefined): string | null {
  return value === undefined || value === null || value.trim() === "" ? null : value.trim();
}

function bool(value: unknown): boolean | null {
  if (typeof value === "boolean") return value;
  if (typeof value === "number") return value !== 0;
  if (typeof value === "string") {
    const lower = value.trim().toLowerCase();
    if (lower === "true" || lower === "1") return true;
    if (lower === "false" || lower === "0") return false;
  }
  return null;
}

/** An object or array as is; a string holding JSON parsed; other strings kept as strings. */
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

const ISO_8601 = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|([+-])(\d{2}):?(\d{2}))?$/i;

/**
 * An ISO 8601 time (`2021-07-29T09:23:58Z`; a space for the T, seconds and fractions optional,
 * no zone meaning UTC, as ActionTrail writes it), or null: never a number or another text a
 * Date would guess at, nor a day the calendar does not have (`2021-02-30`, which Date would
 * roll over to March). Fractions are cut to milliseconds; years 1970 to 9999, as DATETIME.
 */
export function parseTime(value: unknown): Date | null {
  if (typeof value !== "string") return null;
  const match = ISO_8601.exec(value.trim());
  if (match === null) return null;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map((part) => Number(part ?? 0));
  const ms = Number((match[7] ?? "").slice(0, 3).padEnd(3, "0"));
  const calendar = new Date(Date.UTC(year, month - 1, day));
  // A day the month does not have rolls over into the next month.
  if (calendar.getUTCMonth() !== month - 1 || hour > 23 || minute > 59 || second > 59) {
    return null;
  }
  let offsetMinutes = 0;
  if (match[9] !== undefined) {
    const [hours, minutes] = [Number(match[10]), Number(match[11])];
    if (hours > 23 || minutes > 59) return null;
    offsetMinutes = (match[9] === "-" ? -1 : 1) * (hours * 60 + minutes);
  }
  const time = Date.UTC(year, month - 1, day, hour, minute, second, ms) - offsetMinutes * 60_000;
  const date = new Date(time);
  // Keep to what DATETIME can hold and a plausible audit range.
  if (date.getUTCFullYear() < 1970 || date.getUTCFullYear() > 9999) return null;
  return date;
}

/** The event's time orders and places it: only the JSON string ActionTrail writes is taken (parseTime). */
function parseEventTime(value: unknown): Date {
  if (value === undefined || value === null) throw new RejectedRecord("no eventTime");
  if (typeof value !== "string") {
    throw new RejectedRecord(`eventTime must be a JSON string in ISO 8601, got ${describe(value)}`);
  }
  const time = parseTime(value);
  if (time === null) {
    throw new RejectedRecord(
      `eventTime ${JSON.stringify(value.slice(0, 64))} is not an ISO 8601 time (2021-07-29T09:23:58Z) of a real day between the years 1970 and 9999`,
    );
  }
  return time;
}

function limited(field: string, value: string | null, max = Infinity): string | null {
  if (value !== null) checkText(field, value, max);
  return value;
}

/** A typed field's text must fit its column and be storable as UTF-8 exactly. */
function checkText(field: string, value: string, max: number): void {
  if (value.length > max) {
    throw new RejectedRecord(`${field} is ${value.length} characters long; at most ${max} can be stored`);
  }
  if (!value.isWellFormed()) {
    const at = value.search(LONE_SURROGATE);
    throw new RejectedRecord(
      `${field} holds a lone UTF-16 surrogate (\\u${value.charCodeAt(at).toString(16)} at character ${at}), ` +
        "which UTF-8 text cannot hold: fix the exporter's encoding",
    );
  }
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * What JSON.stringify could not give back as it came: nesting deeper than MAX_JSON_DEPTH
 * (arrays and objects; the event itself is level 1) and numbers beyond a double's range,
 * which JSON.parse read as Infinity. One walk over the containers, without recursion.
 */
function checkStructure(root: Record<string, unknown>): void {
  const nodes: object[] = [root];
  const depths: number[] = [1];
  while (nodes.length > 0) {
    const node = nodes.pop()!;
    const depth = depths.pop()!;
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (typeof child === "number") {
        if (!Number.isFinite(child)) {
          throw new RejectedRecord(
            `a number at ${pathTo(root, (v) => v === child)} is beyond the range of a double (it reads as ${child}): write it as a string`,
          );
        }
      } else if (typeof child === "object" && child !== null) {
        if (depth >= MAX_JSON_DEPTH) {
          throw new RejectedRecord(
            `nested more than ${MAX_JSON_DEPTH} levels deep (arrays and objects); at most ${MAX_JSON_DEPTH} can be stored`,
          );
        }
        nodes.push(child);
        depths.push(depth + 1);
      }
    }
  }
}

/** Where in `root` the first value matching `test` is, as `a.b[2]` (for a reject's reason). */
function pathTo(root: unknown, test: (value: unknown) => boolean): string {
  const search = (node: unknown, path: string): string | null => {
    if (test(node)) return path;
    if (typeof node !== "object" || node === null) return null;
    for (const [key, child] of Object.entries(node)) {
      const found = search(child, Array.isArray(node) ? `${path}[${key}]` : path === "" ? key : `${path}.${key}`);
      if (found !== null) return found;
    }
    return null;
  };
  // The structure is already known to be at most MAX_JSON_DEPTH deep: recursion is safe.
  return search(root, "") ?? "?";
}

function unique<T>(values: Array<T | null>): T[] {
  return [...new Set(values.filter((value): value is T => value !== null))];
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  return `a ${typeof value}`;
}
