/**
 * Deterministic synthetic ActionTrail events.
 *
 * `generateEvents` simulates a set of Alibaba Cloud accounts over a period (a year by
 * default) and yields their audit events in ascending eventTime: people and bots reading
 * bills through the Expenses and Costs API, buy-page purchases with their orders, auto-
 * renewals by the platform, configuration changes and refunds, ECS and RAM calls, sign-ins,
 * and about 2% of failed calls. Shapes follow samples/events.json and ActionTrail's
 * documented event structure; every event is accepted by `normalizeEvent`.
 *
 * How time and memory stay bounded:
 * - the run is a sequence of "activities" (a burst of bill queries, a console session, a
 *   purchase, an ECS operator's session...), each a few events by one identity. An activity
 *   starts at the time where the share of the rhythm (hourly weights: working hours in
 *   UTC+8, quieter weekends, some noise) equals the share of events already produced, so
 *   exactly `events` events cover the period and the first activity starts near the start;
 * - the events of an activity lie minutes after its start; a min-heap keyed by (time,
 *   sequence) releases them in order once no later activity can come before them;
 * - renewals are scheduled per instance in a second heap (due date before expiry);
 * - each account keeps a capped pool of live instances and recent orders, and accounts are
 *   built lazily from a seed of their own. Nothing grows with the number of events.
 *
 * Same options, same events, byte for byte: all randomness comes from seeded generators.
 */
import { EVENT_CATALOG } from "../catalog";
import {
  AUTO_RENEW_AGENT,
  BILLING_CONSOLE_AGENT,
  BOT_NAMES,
  BROWSER_AGENTS,
  CONSOLE_AGENT,
  ECS,
  ERRORS,
  HUMAN_NAMES,
  MAIL_DOMAINS,
  NEW_USER_PREFIXES,
  PRIVATE_IP_PREFIXES,
  PRODUCTS,
  PRODUCT_WEIGHTS,
  PUBLIC_IP_PREFIXES,
  RAM_POLICIES,
  REGIONS,
  ROLE_NAMES,
  SDK_AGENTS,
  SYSTEM_IPS,
  type Config,
  type ErrorSpec,
  type Product,
  type Region,
} from "./catalog-data";
import { indexInCumulative, Random } from "./random";

export interface GenerateOptions {
  /** How many events to yield, exactly. */
  events: number;
  /** How many accounts act (a few of them do most of the activity). */
  accounts: number;
  seed: number;
  /** First instant of the period (default 2025-01-01T00:00:00Z); whole seconds are used. */
  start?: Date;
  /** Length of the period in days (default 365). */
  days?: number;
}

export type GeneratedEvent = Record<string, unknown>;

export const DEFAULT_START = new Date("2025-01-01T00:00:00Z");
export const DEFAULT_DAYS = 365;

/** Probability that an API call fails; about 90% of events are API calls, so ~2% overall. */
const FAILURE_RATE = 0.024;
const HOUR = 3600;
const DAY = 86400;
/** China Standard Time: the accounts' working day. */
const UTC8 = 8 * HOUR;

interface Service {
  serviceName: string;
  eventSource: string;
  apiVersion: string;
}

const BSS: Service = { serviceName: "BssOpenApi", eventSource: "business.aliyuncs.com", apiVersion: "2017-12-14" };
const ECS_API: Service = { serviceName: "Ecs", eventSource: "ecs.aliyuncs.com", apiVersion: "2014-05-26" };
const RAM: Service = { serviceName: "Ram", eventSource: "ram.aliyuncs.com", apiVersion: "2015-05-01" };
const STS: Service = { serviceName: "Sts", eventSource: "sts.aliyuncs.com", apiVersion: "2015-04-01" };

/** Catalog access (READ / WRITE) by operation name: eventRW comes from the catalog. */
const CATALOG_ACCESS = new Map(EVENT_CATALOG.map((entry) => [entry.eventName, entry.access] as const));

function catalogRW(name: string): "Read" | "Write" {
  const access = CATALOG_ACCESS.get(name);
  if (access === undefined) throw new Error(`generator: ${name} is not in the Expenses and Costs catalog`);
  return access === "WRITE" ? "Write" : "Read";
}

/** Bill and order reads a finance team or its tools run most; the rest of the catalog's reads are rarer. */
const READ_BOOST: Readonly<Record<string, number>> = {
  QueryInstanceBill: 10,
  QueryBill: 8,
  DescribeInstanceBill: 8,
  QueryAccountBalance: 8,
  QueryBillOverview: 6,
  QueryAccountBill: 6,
  QueryAvailableInstances: 5,
  QueryOrders: 4,
  GetOrderDetail: 4,
  QuerySettleBill: 3,
  QueryAccountTransactions: 3,
  QueryMonthlyBill: 3,
  DescribeSplitItemBill: 2,
  DescribeResourceUsageTotal: 2,
  QueryProductList: 2,
  GetSubscriptionPrice: 2,
  QueryCashCoupons: 1.5,
  InquiryPriceRefundInstance: 1,
};
/** Writes with an order or instance lifecycle of their own (built by dedicated activities). */
const LIFECYCLE_WRITES = new Set([
  "CreateInstance",
  "RenewInstance",
  "ModifyInstance",
  "CancelOrder",
  "SetRenewal",
  "RefundInstance",
  "ReleaseInstance",
  "ConvertChargeType",
]);
const WRITE_BOOST: Readonly<Record<string, number>> = {
  TagResources: 2,
  CreateCostUnit: 1,
  AllocateCostUnitResource: 1,
  SubscribeBillToOSS: 1,
  CreateResourcePackage: 0.8,
  CreateSavingsPlansInstance: 0.5,
  ApplyInvoice: 0.5,
  ModifyCostUnit: 0.5,
  SetAllExpirationDay: 0.3,
};
const BSS_READS = EVENT_CATALOG.filter((entry) => entry.access === "READ").map((entry) => entry.eventName);
const BSS_READ_WEIGHTS = BSS_READS.map((name) => READ_BOOST[name] ?? 0.3);
const BSS_WRITES = EVENT_CATALOG.filter(
  (entry) => entry.access === "WRITE" && !LIFECYCLE_WRITES.has(entry.eventName),
).map((entry) => entry.eventName);
const BSS_WRITE_WEIGHTS = BSS_WRITES.map((name) => WRITE_BOOST[name] ?? 0.12);

type ActivityKind =
  | "bssReads"
  | "consoleBilling"
  | "purchaseConsole"
  | "purchaseApi"
  | "lifecycle"
  | "unpaidOrder"
  | "ecsOps"
  | "ramAdmin"
  | "signin"
  | "bssWrites";

const ACTIVITIES: ReadonlyArray<readonly [ActivityKind, number]> = [
  ["bssReads", 30],
  ["consoleBilling", 6],
  ["purchaseConsole", 4],
  ["purchaseApi", 2],
  ["lifecycle", 5],
  ["unpaidOrder", 1],
  ["ecsOps", 14],
  ["ramAdmin", 4],
  ["signin", 4],
  ["bssWrites", 3],
];

/** Relative activity by hour of the day in UTC+8 (0h..23h). */
const HOUR_SHAPE = [
  0.12, 0.08, 0.06, 0.05, 0.05, 0.06, 0.1, 0.2, 0.45, 0.85, 1, 1, 0.75, 0.8, 1, 1, 0.95, 0.85, 0.6, 0.45, 0.45, 0.4,
  0.3, 0.2,
];
const WEEKEND = 0.35;

// ---------------------------------------------------------------------------------------
// State

interface Caller {
  type: "root-account" | "ram-user" | "assumed-role";
  accountId: string;
  principalId: string;
  userName: string;
  accessKeyId: string | null;
  session: { creationDate: string; mfa: string } | null;
  ip: string;
  vpcId: string | null;
  sdkAgent: string;
  browserAgent: string;
  loginAccount: string;
  mfa: boolean;
}

interface Role {
  roleName: string;
  roleId: string;
}

interface Instance {
  id: string;
  product: Product;
  region: Region;
  zone: string;
  account: Account;
  seed: number;
  /** Configuration generation: a Modify makes the next one. */
  gen: number;
  boughtAt: number;
  /** Later events may name it from this second on (after its purchase event). */
  availableAt: number;
  subscription: boolean;
  months: number;
  autoRenew: boolean;
  expiresAt: number;
  /** The renewal entry that is current (older heap entries for it are stale). */
  dueAt: number;
  alive: boolean;
  lastOrderId: string;
}

interface OrderRef {
  orderId: string;
  createdAt: number;
  availableAt: number;
  orderType: "New" | "Renew" | "Upgrade" | "Refund";
  product: Product;
  region: Region;
  instance: Instance | null;
  amount: number;
  paid: boolean;
}

interface Account {
  index: number;
  id: string;
  home: Region;
  regions: Region[];
  /** Expenses and Costs calls go to one endpoint: cn-hangzhou, or ap-southeast-1 for the international site. */
  bssRegion: string;
  currency: "CNY" | "USD";
  root: Caller;
  rootHasKey: boolean;
  humans: Caller[];
  bots: Caller[];
  roles: Role[];
  instances: Instance[];
  orders: OrderRef[];
  newUsers: number;
}

interface Pending {
  t: number;
  seq: number;
  ev: GeneratedEvent;
}

interface Due {
  due: number;
  seq: number;
  instance: Instance;
}

class MinHeap<T> {
  private items: T[] = [];
  constructor(private readonly less: (a: T, b: T) => boolean) {}

  get size(): number {
    return this.items.length;
  }

  peek(): T {
    return this.items[0];
  }

  push(item: T): void {
    const items = this.items;
    let i = items.length;
    items.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(item, items[parent])) break;
      items[i] = items[parent];
      i = parent;
    }
    items[i] = item;
  }

  pop(): T {
    const items = this.items;
    const top = items[0];
    const last = items.pop() as T;
    if (items.length > 0) {
      let i = 0;
      const n = items.length;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= n) break;
        const right = left + 1;
        const child = right < n && this.less(items[right], items[left]) ? right : left;
        if (!this.less(items[child], last)) break;
        items[i] = items[child];
        i = child;
      }
      items[i] = last;
    }
    return top;
  }

  /** Keeps only the items for which `keep` is true (rebuilds the heap). */
  retain(keep: (item: T) => boolean): void {
    const kept = this.items.filter(keep);
    this.items = [];
    for (const item of kept) this.push(item);
  }
}

/** Hourly weights of the period and their running sum: maps a share of events to a second. */
class Timeline {
  private readonly cumulative: Float64Array;
  private hour = 0;

  constructor(
    rng: Random,
    private readonly startSec: number,
    private readonly hours: number,
  ) {
    this.cumulative = new Float64Array(hours + 1);
    let dayFactor = 1;
    for (let h = 0; h < hours; h++) {
      const local = startSec + h * HOUR + UTC8;
      const hourOfDay = Math.floor(local / HOUR) % 24;
      if (h === 0 || hourOfDay === 0) dayFactor = 0.8 + 0.4 * rng.next();
      const weekday = (Math.floor(local / DAY) + 4) % 7; // 1970-01-01 was a Thursday
      let weight = HOUR_SHAPE[(hourOfDay + 24) % 24] * dayFactor * (0.7 + 0.6 * rng.next());
      if (weekday === 0 || weekday === 6) weight *= WEEKEND;
      if (rng.chance(0.01)) weight *= 3; // an incident, a migration, a month-end close
      this.cumulative[h + 1] = this.cumulative[h] + weight;
    }
  }

  /** The second at share `q` of the period's weight; `q` must not decrease between calls. */
  at(q: number): number {
    const total = this.cumulative[this.hours];
    const target = Math.min(q, 1) * total;
    while (this.hour < this.hours - 1 && this.cumulative[this.hour + 1] <= target) this.hour++;
    const low = this.cumulative[this.hour];
    const width = this.cumulative[this.hour + 1] - low;
    const fraction = width > 0 ? Math.min(0.9999, Math.max(0, (target - low) / width)) : 0;
    return this.startSec + this.hour * HOUR + Math.floor(fraction * HOUR);
  }
}

function validate(options: GenerateOptions): Required<GenerateOptions> {
  const { events, accounts, seed } = options;
  if (!Number.isSafeInteger(events) || events < 0) throw new Error(`events must be a whole number >= 0, got ${events}`);
  if (!Number.isSafeInteger(accounts) || accounts < 1 || accounts > 1_000_000) {
    throw new Error(`accounts must be a whole number from 1 to 1000000, got ${accounts}`);
  }
  if (!Number.isSafeInteger(seed)) throw new Error(`seed must be a whole number, got ${seed}`);
  const start = options.start ?? DEFAULT_START;
  if (!(start instanceof Date) || !Number.isFinite(start.getTime())) throw new Error("start must be a valid date");
  const days = options.days ?? DEFAULT_DAYS;
  if (!Number.isFinite(days) || days <= 0 || days > 36500)
    throw new Error(`days must be > 0 and at most 36500, got ${days}`);
  return { events, accounts, seed, start, days };
}

/**
 * Yields exactly `options.events` synthetic ActionTrail events in ascending eventTime,
 * the same ones for the same options. Memory does not grow with the number of events.
 */
export function* generateEvents(options: GenerateOptions): Generator<GeneratedEvent> {
  yield* new Simulation(validate(options)).run();
}

/** The resource directory ID a multi-account trail of this seed delivers under. */
export function resourceDirectoryId(seed: number): string {
  return `rd-${new Random(seed, "resource-directory").lowerAlnum(6)}`;
}

/** The account that owns a generated event (its identity's account, else the recipient). */
export function eventAccountId(event: GeneratedEvent): string {
  const identity = event.userIdentity as { accountId?: unknown } | undefined;
  const id = identity?.accountId ?? event.recipientAccountId;
  return typeof id === "string" ? id : "unknown";
}

// ---------------------------------------------------------------------------------------
// The simulation

class Simulation {
  private readonly rng: Random;
  private readonly total: number;
  private readonly seed: number;
  private readonly startSec: number;
  private readonly endSec: number;
  private readonly timeline: Timeline;
  private readonly accountIds: string[];
  private readonly indexById = new Map<string, number>();
  private readonly accounts: Array<Account | undefined>;
  /** Account activity ranks: a Zipf-like share for each account index. */
  private readonly accountCumulative: Float64Array;
  private readonly poolCap: number;
  private readonly pending = new MinHeap<Pending>((a, b) => a.t < b.t || (a.t === b.t && a.seq < b.seq));
  private readonly renewals = new MinHeap<Due>((a, b) => a.due < b.due || (a.due === b.due && a.seq < b.seq));
  private liveSubscriptions = 0;
  private buffer: Pending[] = [];
  private produced = 0;
  private seq = 0;
  private lastShare = 0;
  /** The time cursor of the activity being built. */
  private now = 0;
  private orderCounter: number;
  private isoSecond = -1;
  private isoText = "";

  constructor(options: Required<GenerateOptions>) {
    this.total = options.events;
    this.seed = options.seed;
    this.rng = new Random(options.seed, "events");
    this.startSec = Math.floor(options.start.getTime() / 1000);
    const hours = Math.max(1, Math.round(options.days * 24));
    this.endSec = this.startSec + hours * HOUR;
    this.timeline = new Timeline(new Random(options.seed, "timeline"), this.startSec, hours);

    const idRng = new Random(options.seed, "account-ids");
    const seen = new Set<string>();
    this.accountIds = [];
    while (this.accountIds.length < options.accounts) {
      // Masked the way the documentation shows account IDs: 12 digits and ****.
      const id = `1${idRng.digits(11, true)}****`;
      if (seen.has(id)) continue;
      seen.add(id);
      this.indexById.set(id, this.accountIds.length);
      this.accountIds.push(id);
    }
    this.accounts = new Array<Account | undefined>(options.accounts);
    this.accountCumulative = new Float64Array(options.accounts);
    let sum = 0;
    for (let i = 0; i < options.accounts; i++) {
      sum += 1 / Math.pow(i + 1, 1.1);
      this.accountCumulative[i] = sum;
    }
    this.poolCap = Math.max(8, Math.min(64, Math.floor(200_000 / options.accounts)));
    // Order IDs: 15 digits, increasing with time like the platform's, unique by construction.
    this.orderCounter = 210_000_000_000_000 + this.rng.int(0, 99_999_999) * 1000;
  }

  *run(): Generator<GeneratedEvent> {
    while (this.produced < this.total) {
      // The activity starts where the share of the period's rhythm equals the share of events made.
      const share = Math.max(this.lastShare, (this.produced + this.rng.next() * 3) / this.total);
      this.lastShare = share;
      const t = this.timeline.at(share);
      this.dueRenewals(t);
      if (this.produced < this.total) this.activity(t);
      while (this.pending.size > 0 && this.pending.peek().t <= t) yield this.pending.pop().ev;
    }
    while (this.pending.size > 0) yield this.pending.pop().ev;
  }

  // ---- plumbing -----------------------------------------------------------------------

  private emit(ev: GeneratedEvent): void {
    this.buffer.push({ t: Math.min(this.now, this.endSec - 1), seq: this.seq++, ev });
  }

  /** Moves the activity's events to the heap, keeping the total exact. */
  private commit(): void {
    const room = this.total - this.produced;
    const n = Math.min(room, this.buffer.length);
    for (let i = 0; i < n; i++) this.pending.push(this.buffer[i]);
    this.produced += n;
    this.buffer = [];
  }

  private time(): string {
    const second = Math.min(this.now, this.endSec - 1);
    if (second !== this.isoSecond) {
      this.isoSecond = second;
      this.isoText = `${new Date(second * 1000).toISOString().slice(0, 19)}Z`;
    }
    return this.isoText;
  }

  private wait(min: number, max: number): void {
    this.now += this.rng.int(min, max);
  }

  /** Calls of one burst: often the same second. */
  private burst(): void {
    if (!this.rng.chance(0.55)) this.now += this.rng.int(1, 3);
  }

  private version(): number | string {
    return this.rng.chance(0.5) ? 1 : "1";
  }

  private requestId(): string {
    return this.rng.uuid().toUpperCase();
  }

  private newOrderId(): string {
    this.orderCounter += this.rng.int(1, 4000);
    return String(this.orderCounter);
  }

  private failure(family: keyof typeof ERRORS, params: Record<string, unknown>): ErrorSpec | null {
    if (!this.rng.chance(FAILURE_RATE)) return null;
    const list = ERRORS[family];
    const spec = this.rng.weighted(
      list,
      list.map((entry) => entry.weight),
    );
    if (spec.code !== "InvalidParameter") return spec;
    const keys = Object.keys(params);
    const name = keys.length > 0 ? this.rng.pick(keys) : "RegionId";
    return { code: spec.code, message: `The specified parameter ${name} is not valid.`, weight: 0 };
  }

  private pickAccount(): Account {
    const cumulative = this.accountCumulative;
    return this.account(indexInCumulative(cumulative, this.rng.next() * cumulative[cumulative.length - 1]));
  }

  private account(index: number): Account {
    let account = this.accounts[index];
    if (!account) {
      account = this.buildAccount(index);
      this.accounts[index] = account;
    }
    return account;
  }

  private buildAccount(index: number): Account {
    const rng = new Random(this.seed, "account", index);
    const id = this.accountIds[index];
    const home = rng.weighted(
      REGIONS,
      REGIONS.map((r) => r.weight),
    );
    const regions = [home];
    const extra = rng.skewed(4, 1.8);
    for (let i = 0; i < extra; i++) {
      const other = rng.weighted(
        REGIONS,
        REGIONS.map((r) => r.weight),
      );
      if (!regions.includes(other)) regions.push(other);
    }
    const officeIp = `${rng.pick(PUBLIC_IP_PREFIXES)}.XX.XX`;
    const person = (type: "root-account" | "ram-user", userName: string, principalId: string, key: string | null) => {
      const mfa = rng.chance(type === "root-account" ? 0.6 : 0.35);
      const caller: Caller = {
        type,
        accountId: id,
        principalId,
        userName,
        accessKeyId: key,
        session: null,
        ip: rng.chance(0.6) ? officeIp : `${rng.pick(PUBLIC_IP_PREFIXES)}.XX.XX`,
        vpcId: null,
        sdkAgent: rng.skewedPick(SDK_AGENTS, 1.5),
        browserAgent: rng.pick(BROWSER_AGENTS),
        loginAccount:
          type === "root-account"
            ? `${rng.chars("abcdefghijklmnopqrstuvwxyz", 3)}****@${rng.pick(MAIL_DOMAINS)}`
            : `${userName}@${id}.onaliyun.com`,
        mfa,
      };
      return caller;
    };
    const rootHasKey = rng.chance(0.35);
    const root = person("root-account", "root", id, rootHasKey ? `LTAI4G${rng.alnum(18)}` : null);
    const humanNames = this.sample(rng, HUMAN_NAMES, 1 + rng.int(0, 2) + rng.skewed(8, 2));
    const humans = humanNames.map((name) =>
      person("ram-user", name, `2${rng.digits(15, true)}`, rng.chance(0.6) ? `LTAI5t${rng.alnum(18)}` : null),
    );
    const bots = this.sample(rng, BOT_NAMES, rng.int(1, 4)).map((name) => {
      const bot = person("ram-user", name, `2${rng.digits(15, true)}`, `LTAI5t${rng.alnum(18)}`);
      if (rng.chance(0.3)) {
        bot.vpcId = `vpc-${home.code}${rng.lowerAlnum(17)}`;
        bot.ip = `${rng.pick(PRIVATE_IP_PREFIXES)}.XX.XX`;
      }
      return bot;
    });
    const roles = this.sample(rng, ROLE_NAMES, rng.int(1, 4)).map((roleName) => ({
      roleName,
      roleId: `3${rng.digits(17, true)}`,
    }));
    return {
      index,
      id,
      home,
      regions,
      bssRegion: home.intl ? "ap-southeast-1" : "cn-hangzhou",
      currency: home.intl ? "USD" : "CNY",
      root,
      rootHasKey,
      humans,
      bots,
      roles,
      instances: [],
      orders: [],
      newUsers: 0,
    };
  }

  /** `n` distinct items of `list`, in a random order. */
  private sample<T>(rng: Random, list: readonly T[], n: number): T[] {
    const copy = list.slice();
    const count = Math.min(n, copy.length);
    for (let i = 0; i < count; i++) {
      const j = i + Math.floor(rng.next() * (copy.length - i));
      [copy[i], copy[j]] = [copy[j], copy[i]];
    }
    return copy.slice(0, count);
  }

  // ---- identities ---------------------------------------------------------------------

  private identity(caller: Caller, withKey: boolean): Record<string, unknown> {
    const identity: Record<string, unknown> = {
      type: caller.type,
      principalId: caller.principalId,
      accountId: caller.accountId,
      userName: caller.userName,
    };
    if (caller.session) {
      identity.accessKeyId = caller.accessKeyId;
      identity.sessionContext = {
        attributes: { creationDate: caller.session.creationDate, mfaAuthenticated: caller.session.mfa },
      };
    } else if (withKey && caller.accessKeyId) {
      identity.accessKeyId = caller.accessKeyId;
    }
    return identity;
  }

  /** Someone who uses the console: the root account or a person. */
  private consoleUser(account: Account): Caller {
    if (account.humans.length === 0 || this.rng.chance(0.3)) return account.root;
    return this.rng.skewedPick(account.humans, 2);
  }

  /** Someone calling the API with a key: a bot, a person with a key, the root key, or a role session. */
  private apiCaller(account: Account, rolesShare = 0.15): Caller {
    const roll = this.rng.next();
    if (roll < rolesShare) return this.roleSession(account, this.now - this.rng.int(30, 3000));
    if (roll < rolesShare + 0.6 && account.bots.length > 0) return this.rng.skewedPick(account.bots, 2);
    const keyed = account.humans.filter((human) => human.accessKeyId !== null);
    if (keyed.length > 0 && (roll < 0.92 || !account.rootHasKey)) return this.rng.skewedPick(keyed, 2);
    if (account.rootHasKey) return account.root;
    return account.bots.length > 0 ? this.rng.pick(account.bots) : this.roleSession(account, this.now - 60);
  }

  private roleSession(account: Account, createdAt: number, sessionName?: string): Caller {
    const role = this.rng.skewedPick(account.roles, 2);
    const name =
      sessionName ??
      this.rng.weightedPair<string>([
        [account.humans.length > 0 ? this.rng.pick(account.humans).userName : "ops", 5],
        [`terraform-${this.rng.digits(10)}`, 2],
        [`k8s-${this.rng.lowerAlnum(8)}`, 2],
        [String(this.rng.digits(13)), 1],
      ]);
    const via = account.bots.length > 0 ? this.rng.pick(account.bots) : account.root;
    const creation = Math.max(this.startSec, createdAt);
    return {
      type: "assumed-role",
      accountId: account.id,
      principalId: `${role.roleId}:${name}`,
      userName: `${role.roleName}:${name}`,
      accessKeyId: `STS.${this.rng.alnum(this.rng.int(20, 28))}`,
      session: {
        creationDate: `${new Date(creation * 1000).toISOString().slice(0, 19)}Z`,
        mfa: this.rng.chance(0.2) ? "true" : "false",
      },
      ip: via.ip,
      vpcId: via.vpcId,
      sdkAgent: via.sdkAgent,
      browserAgent: via.browserAgent,
      loginAccount: via.loginAccount,
      mfa: false,
    };
  }

  // ---- event builders -----------------------------------------------------------------

  private api(call: {
    caller: Caller;
    service: Service;
    name: string;
    rw: "Read" | "Write";
    region: string;
    agent: string;
    params: Record<string, unknown>;
    response?: Record<string, unknown> | null;
    refs?: Record<string, string[]> | null;
    failure?: ErrorSpec | null;
    global?: boolean;
    hexId?: boolean;
    withKey?: boolean;
  }): GeneratedEvent {
    const requestId = this.requestId();
    const ev: GeneratedEvent = {
      eventId: call.hexId ? this.rng.hex(24) : this.rng.uuid(),
      eventVersion: this.version(),
      eventType: "ApiCall",
      eventCategory: "Management",
      eventName: call.name,
      eventRW: call.rw,
      eventSource: call.service.eventSource,
      eventTime: this.time(),
      serviceName: call.service.serviceName,
      acsRegion: call.region,
      apiVersion: call.service.apiVersion,
    };
    if (call.global) ev.isGlobal = true;
    ev.requestId = requestId;
    ev.userIdentity = this.identity(call.caller, call.withKey ?? true);
    ev.sourceIpAddress = call.caller.ip;
    ev.userAgent = call.agent;
    if (call.caller.vpcId && call.agent === call.caller.sdkAgent) ev.vpcId = call.caller.vpcId;
    ev.requestParameters = call.params;
    if (!call.failure && call.response) ev.responseElements = { ...call.response, RequestId: requestId };
    if (call.refs) {
      const types = Object.keys(call.refs);
      if (types.length > 0 && this.rng.chance(0.1)) {
        // The other spelling: "A;B" types with "a1,a2;b1" names.
        ev.resourceType = types.join(";");
        ev.resourceName = types.map((type) => (call.refs as Record<string, string[]>)[type].join(",")).join(";");
      } else if (types.length > 0) {
        ev.referencedResources = call.refs;
      }
    }
    if (call.failure) {
      ev.errorCode = call.failure.code;
      ev.errorMessage = call.failure.message;
    } else if (this.rng.chance(0.45)) {
      ev.errorCode = "";
    }
    ev.recipientAccountId = call.caller.accountId;
    return ev;
  }

  private bssCall(
    caller: Caller,
    name: string,
    agent: string,
    params: Record<string, unknown>,
    options: {
      data?: Record<string, unknown> | null;
      refs?: Record<string, string[]> | null;
      failure?: ErrorSpec | null;
    } = {},
  ): GeneratedEvent {
    const account = this.account(this.accountIndex(caller.accountId));
    const rw = catalogRW(name);
    // `data` undefined: reads come without their response body (as in the samples), writes
    // with the bare envelope; null: the envelope without Data.
    let response: Record<string, unknown> | null = null;
    if (options.data !== undefined || rw === "Write") {
      response = {};
      if (options.data) response.Data = options.data;
      response.Success = true;
      response.Code = "Success";
      response.Message = "Successful!";
    }
    return this.api({
      caller,
      service: BSS,
      name,
      rw,
      region: account.bssRegion,
      agent,
      params,
      response,
      refs: options.refs ?? null,
      failure: options.failure ?? null,
      withKey: agent !== BILLING_CONSOLE_AGENT,
    });
  }

  private accountIndex(accountId: string): number {
    const index = this.indexById.get(accountId);
    if (index === undefined) throw new Error(`generator: unknown account ${accountId}`);
    return index;
  }

  /** A console operation naming orders: a buy-page purchase, a Modify, a Refund. */
  private consoleOrder(
    name: "Create" | "Modify" | "Refund",
    caller: Caller,
    product: Product,
    region: Region,
    orders: Array<{ orderId: string; instances: Instance[] }>,
  ): GeneratedEvent {
    const additional: Record<string, unknown> = { orderIds: orders.map((order) => order.orderId).join(",") };
    const ids: string[] = [];
    for (const order of orders) {
      additional[order.orderId] = {
        resourceId: order.instances.map((instance) => instance.id).join(","),
        articleConfig: this.config(order.instances[0]),
      };
      for (const instance of order.instances) ids.push(instance.id);
    }
    const ev: GeneratedEvent = {
      requestId: this.rng.uuid(),
      eventType: "ConsoleOperation",
      userIdentity: this.identity(caller, false),
      acsRegion: region.id,
      eventName: name,
      requestParameters: {},
      eventSource: product.eventSource,
      serviceName: product.serviceName,
      eventTime: this.time(),
      referencedResources: { [product.resourceType]: ids },
      userAgent: CONSOLE_AGENT,
      eventId: this.rng.uuid(),
      additionalEventData: additional,
      errorCode: "",
      errorMessage: "",
      eventVersion: this.version(),
      sourceIpAddress: caller.ip,
    };
    if (this.rng.chance(0.8)) ev.recipientAccountId = caller.accountId;
    return ev;
  }

  private signin(caller: Caller, out = false): GeneratedEvent {
    const ms = Math.min(this.now, this.endSec - 1) * 1000 + this.rng.int(0, 999);
    const additional: Record<string, unknown> = { loginAccount: caller.loginAccount };
    if (!out) {
      additional.MFAUsed = caller.mfa ? "true" : "false";
      additional.CallbackUrl = this.rng.pick([
        "https://home.console.aliyun.com/",
        "https://ecs.console.aliyun.com/",
        "https://usercenter2.aliyun.com/home",
        "https://ram.console.aliyun.com/",
      ]);
    }
    const ev: GeneratedEvent = {
      eventId: `1.167_${ms}_${this.rng.digits(4, true)}`,
      eventVersion: 1,
      eventType: out ? "ConsoleSignout" : "ConsoleSignin",
      eventCategory: "Management",
      eventName: out ? "ConsoleSignout" : "ConsoleSignin",
      eventSource: "signin.aliyun.com",
      eventTime: this.time(),
      serviceName: "AasSub",
      acsRegion: "cn-hangzhou",
      requestId: this.requestId(),
      userIdentity: this.identity(caller, false),
      sourceIpAddress: caller.ip,
      userAgent: caller.browserAgent,
      additionalEventData: additional,
      recipientAccountId: caller.accountId,
    };
    if (this.rng.chance(0.7)) ev.errorCode = "";
    return ev;
  }

  private config(instance: Instance): Config {
    return instance.product.config(
      new Random(instance.seed, "stable"),
      new Random(instance.seed, "size", instance.gen),
      instance.region,
      instance.zone,
    );
  }

  // ---- instances and orders -----------------------------------------------------------

  private pickRegion(account: Account): Region {
    return this.rng.skewedPick(account.regions, 2);
  }

  private newInstance(account: Account, product: Product, region: Region): Instance {
    const subscription = this.rng.chance(0.72);
    const months = subscription
      ? this.rng.weightedPair<number>([
          [1, 55],
          [3, 8],
          [6, 8],
          [12, 24],
          [24, 3],
          [36, 2],
        ])
      : 0;
    const instance: Instance = {
      id: product.newId(this.rng, region),
      product,
      region,
      zone: this.rng.pick(region.zones),
      account,
      seed: this.rng.uint32(),
      gen: 0,
      boughtAt: this.now,
      availableAt: this.now + 600,
      subscription,
      months,
      autoRenew: subscription && this.rng.chance(0.55),
      expiresAt: 0,
      dueAt: 0,
      alive: true,
      lastOrderId: "",
    };
    return instance;
  }

  /** Adds a bought instance to its account's pool (releasing the oldest when full) and schedules its renewal. */
  private adopt(instance: Instance, orderId: string, orderType: OrderRef["orderType"]): void {
    const pool = instance.account.instances;
    if (pool.length >= this.poolCap) {
      const released = pool.shift() as Instance;
      this.retire(released, false);
    }
    pool.push(instance);
    instance.lastOrderId = orderId;
    this.remember(instance.account, orderId, orderType, instance.product, instance.region, instance);
    if (instance.subscription) {
      this.liveSubscriptions++;
      instance.expiresAt = this.expiry(instance.boughtAt, instance.months);
      this.schedule(instance);
    }
  }

  private retire(instance: Instance, removeFromPool = true): void {
    if (!instance.alive) return;
    instance.alive = false;
    if (instance.subscription) this.liveSubscriptions--;
    if (removeFromPool) {
      const pool = instance.account.instances;
      const at = pool.indexOf(instance);
      if (at >= 0) pool.splice(at, 1);
    }
  }

  private remember(
    account: Account,
    orderId: string,
    orderType: OrderRef["orderType"],
    product: Product,
    region: Region,
    instance: Instance | null,
    paid = true,
  ): OrderRef {
    const ref: OrderRef = {
      orderId,
      createdAt: this.now,
      availableAt: this.now + 30,
      orderType,
      product,
      region,
      instance,
      amount: instance
        ? Math.round(instance.product.monthlyPrice(this.config(instance)) * Math.max(1, instance.months) * 100) / 100
        : this.rng.int(20, 900),
      paid,
    };
    account.orders.push(ref);
    if (account.orders.length > 16) account.orders.shift();
    return ref;
  }

  /** Midnight (UTC+8) after `months` months from `from`. */
  private expiry(from: number, months: number): number {
    const date = new Date((from + UTC8) * 1000);
    date.setUTCMonth(date.getUTCMonth() + months);
    const local = Math.floor(date.getTime() / 1000);
    return Math.floor(local / DAY) * DAY + DAY - UTC8;
  }

  /** Auto-renewal runs one to five days before expiry, between 00:00 and 09:00 UTC+8. */
  private schedule(instance: Instance): void {
    const due = instance.expiresAt - this.rng.int(1, 5) * DAY + this.rng.int(0, 9 * HOUR);
    instance.dueAt = Math.max(due, this.now + HOUR);
    this.renewals.push({ due: instance.dueAt, seq: this.seq++, instance });
    // Drop entries of released or re-scheduled instances now and then, so the heap stays small.
    if (this.renewals.size > 2 * this.liveSubscriptions + 1024) {
      this.renewals.retain((entry) => entry.instance.alive && entry.instance.dueAt === entry.due);
    }
  }

  /** A live instance of the account that later events may name, optionally of a product. */
  private liveInstance(account: Account, filter?: (instance: Instance) => boolean): Instance | null {
    const pool = account.instances;
    if (pool.length === 0) return null;
    const offset = Math.floor(this.rng.next() * pool.length);
    for (let i = 0; i < pool.length; i++) {
      const instance = pool[(offset + i) % pool.length];
      if (instance.availableAt <= this.now && (!filter || filter(instance))) return instance;
    }
    return null;
  }

  private knownOrder(account: Account): OrderRef | null {
    const orders = account.orders;
    for (let i = orders.length - 1; i >= 0; i--) {
      const order = orders[i];
      if (order.availableAt <= this.now && this.rng.chance(0.6)) return order;
    }
    for (const order of orders) if (order.availableAt <= this.now) return order;
    return null;
  }

  private refs(instances: Instance[]): Record<string, string[]> {
    const refs: Record<string, string[]> = {};
    for (const instance of instances) (refs[instance.product.resourceType] ??= []).push(instance.id);
    return refs;
  }

  private monthly(offsetMonths: number): string {
    const date = new Date((this.now + UTC8) * 1000);
    date.setUTCDate(1);
    date.setUTCMonth(date.getUTCMonth() + offsetMonths);
    return `${date.getUTCFullYear()}-${String(date.getUTCMonth() + 1).padStart(2, "0")}`;
  }

  private isoAt(second: number): string {
    return `${new Date(second * 1000).toISOString().slice(0, 19)}Z`;
  }

  private money(amount: number): string {
    return amount.toFixed(2);
  }

  // ---- renewals -----------------------------------------------------------------------

  private dueRenewals(until: number): void {
    while (this.renewals.size > 0 && this.renewals.peek().due <= until && this.produced < this.total) {
      const { due, instance } = this.renewals.pop();
      if (!instance.alive || instance.dueAt !== due) continue;
      this.now = due;
      if (instance.autoRenew) {
        this.autoRenew(instance);
      } else if (this.rng.chance(0.35)) {
        // Someone renews it by hand in office hours before it expires.
        this.now = due + this.rng.int(1, 10) * HOUR;
        this.renewInstanceApi(instance.account, instance);
      } else {
        this.retire(instance);
      }
      this.commit();
    }
  }

  private autoRenew(instance: Instance): void {
    const account = instance.account;
    const orderId = this.newOrderId();
    const product = instance.product;
    const ev: GeneratedEvent = {
      requestId: this.rng.uuid(),
      eventType: "AliyunServiceEvent",
      userIdentity: { type: "system" },
      acsRegion: instance.region.id,
      eventName: "Renew",
      requestParameters: {},
      eventSource: product.eventSource,
      serviceName: product.serviceName,
      eventTime: this.time(),
      referencedResources: { [product.resourceType]: [instance.id] },
      userAgent: AUTO_RENEW_AGENT,
      eventId: this.rng.uuid(),
      additionalEventData: { [orderId]: { resourceId: instance.id, articleConfig: this.config(instance) } },
      errorCode: "",
      errorMessage: "",
      eventVersion: this.version(),
      sourceIpAddress: this.rng.pick(SYSTEM_IPS),
      recipientAccountId: account.id,
    };
    this.emit(ev);
    instance.lastOrderId = orderId;
    this.remember(account, orderId, "Renew", product, instance.region, instance);
    instance.expiresAt = this.expiry(instance.expiresAt - UTC8, instance.months);
    this.schedule(instance);
  }

  // ---- activities ---------------------------------------------------------------------

  private activity(t: number): void {
    const account = this.pickAccount();
    this.now = t;
    const kind = this.rng.weightedPair(ACTIVITIES);
    switch (kind) {
      case "bssReads":
        this.bssReads(account);
        break;
      case "consoleBilling":
        this.consoleBilling(account);
        break;
      case "purchaseConsole":
        this.purchaseConsole(account);
        break;
      case "purchaseApi":
        this.purchaseApi(account);
        break;
      case "lifecycle":
        this.lifecycle(account);
        break;
      case "unpaidOrder":
        this.unpaidOrder(account);
        break;
      case "ecsOps":
        this.ecsOps(account);
        break;
      case "ramAdmin":
        this.ramAdmin(account);
        break;
      case "signin":
        this.signinSession(account);
        break;
      case "bssWrites":
        this.bssWrites(account);
        break;
    }
    this.commit();
  }

  /** A tool or a person pulling bills: a burst of Expenses and Costs reads, paginated at times. */
  private bssReads(account: Account): void {
    const caller = this.apiCaller(account, 0.2);
    const n = this.rng.count(3.5, 14);
    let repeat: { name: string; page: number } | null = null;
    for (let i = 0; i < n; i++) {
      if (i > 0) this.burst();
      const name: string = repeat ? repeat.name : this.rng.weighted(BSS_READS, BSS_READ_WEIGHTS);
      const page: number = repeat ? repeat.page : 1;
      const paged = this.bssRead(account, caller, name, caller.sdkAgent, page);
      repeat = paged && this.rng.chance(0.35) ? { name, page: page + 1 } : null;
    }
  }

  /** Someone in the billing console: sign in, a few reads, maybe sign out. */
  private consoleBilling(account: Account): void {
    const caller = this.consoleUser(account);
    if (this.rng.chance(0.7)) {
      this.emit(this.signin(caller));
      this.wait(5, 40);
    }
    const n = this.rng.int(2, 6);
    for (let i = 0; i < n; i++) {
      if (i > 0) this.wait(2, 90);
      const name: string = this.rng.weighted(BSS_READS, BSS_READ_WEIGHTS);
      this.bssRead(account, caller, name, BILLING_CONSOLE_AGENT, 1);
    }
    if (this.rng.chance(0.25)) {
      this.wait(30, 1800);
      this.emit(this.signin(caller, true));
    }
  }

  /**
   * One Expenses and Costs read with plausible parameters. Returns true when it is paginated
   * (the caller may fetch the next page).
   */
  private bssRead(account: Account, caller: Caller, name: string, agent: string, page: number): boolean {
    const rng = this.rng;
    const pageSize = rng.pick([20, 50, 100, 100, 300]);
    const cycle = this.monthly(rng.chance(0.6) ? -1 : 0);
    const numeric = rng.chance(0.7);
    const num = (value: number): number | string => (numeric ? value : String(value));
    let params: Record<string, unknown>;
    let data: Record<string, unknown> | null | undefined;
    let refs: Record<string, string[]> | null = null;
    let paged = false;
    let family: keyof typeof ERRORS = "bss";
    switch (name) {
      case "QueryBill":
        params = {
          BillingCycle: cycle,
          PageNum: num(page),
          PageSize: num(pageSize),
          IsHideZeroCharge: rng.chance(0.5),
        };
        paged = true;
        break;
      case "QueryInstanceBill":
        params = { BillingCycle: cycle, PageNum: num(page), PageSize: num(pageSize) };
        if (rng.chance(0.5)) params.ProductCode = rng.weighted(PRODUCTS, PRODUCT_WEIGHTS).productCode;
        paged = true;
        break;
      case "QueryAccountBalance":
        params = {};
        data = {
          AvailableAmount: this.money(rng.int(0, 200000) + rng.next()),
          AvailableCashAmount: this.money(rng.int(0, 200000)),
          CreditAmount: "0.00",
          MybankCreditAmount: "0.00",
          Currency: account.currency,
        };
        break;
      case "QueryBillOverview":
      case "QueryMonthlyBill":
        params = { BillingCycle: cycle };
        break;
      case "QueryAccountBill":
        params = {
          BillingCycle: cycle,
          IsGroupByProduct: rng.chance(0.5),
          PageNum: num(page),
          PageSize: num(pageSize),
        };
        paged = true;
        break;
      case "DescribeInstanceBill":
      case "DescribeSplitItemBill": {
        const daily = rng.chance(0.3);
        params = {
          BillingCycle: cycle,
          Granularity: daily ? "DAILY" : "MONTHLY",
          MaxResults: rng.pick([50, 100, 300]),
        };
        if (daily) params.BillingDate = `${cycle}-${String(rng.int(1, 28)).padStart(2, "0")}`;
        params.IsBillingItem = rng.chance(0.4);
        break;
      }
      case "QuerySettleBill":
      case "QuerySplitItemBill":
      case "QueryInstanceGaapCost":
        params = { BillingCycle: cycle, MaxResults: pageSize, IsHideZeroCharge: rng.chance(0.5) ? "true" : "false" };
        break;
      case "QueryOrders":
      case "QueryAccountTransactions":
      case "QueryAccountTransactionDetails": {
        const end = this.now - (this.now % DAY);
        params = {
          CreateTimeStart: this.isoAt(end - rng.pick([7, 30, 30, 90]) * DAY),
          CreateTimeEnd: this.isoAt(end),
          PageNum: num(page),
          PageSize: num(pageSize),
        };
        if (name === "QueryOrders" && rng.chance(0.3)) params.PaymentStatus = rng.pick(["Paid", "Unpaid", "Cancelled"]);
        paged = true;
        break;
      }
      case "QueryAvailableInstances": {
        const product = rng.weighted(PRODUCTS, PRODUCT_WEIGHTS);
        params = {
          ProductCode: product.productCode,
          SubscriptionType: "Subscription",
          Region: this.pickRegion(account).id,
          PageNum: num(page),
          PageSize: num(pageSize),
        };
        if (rng.chance(0.3)) params.RenewStatus = rng.pick(["AutoRenewal", "ManualRenewal"]);
        paged = true;
        break;
      }
      case "GetOrderDetail": {
        const order = this.knownOrder(account);
        if (!order) return this.bssRead(account, caller, "QueryOrders", agent, page);
        params = { OrderId: order.orderId };
        if (order.instance) refs = this.refs([order.instance]);
        data = this.orderDetail(account, order);
        break;
      }
      case "InquiryPriceRefundInstance": {
        const instance = this.liveInstance(account, (candidate) => candidate.subscription);
        if (!instance) return this.bssRead(account, caller, "QueryAvailableInstances", agent, page);
        params = {
          ProductCode: instance.product.productCode,
          InstanceId: instance.id,
          SubscriptionType: "Subscription",
          ClientToken: rng.uuid(),
        };
        refs = this.refs([instance]);
        data = { InstanceId: instance.id, Currency: account.currency, RefundAmount: rng.int(0, 90000) / 100 };
        family = "bssInstance";
        break;
      }
      case "GetSubscriptionPrice":
      case "GetPayAsYouGoPrice":
      case "DescribePricingModule":
      case "QueryPrice":
      case "QueryPriceList": {
        const product = rng.weighted(PRODUCTS, PRODUCT_WEIGHTS);
        params = this.priceParams(account, name, product);
        if (name === "GetSubscriptionPrice" || name === "GetPayAsYouGoPrice") {
          const price = rng.int(2000, 300000) / 100;
          data = { Currency: account.currency, OriginalPrice: price, DiscountPrice: 0, TradePrice: price, Quantity: 1 };
        }
        break;
      }
      case "QueryRelationList":
        params = { UserId: account.id, PageNum: num(page), PageSize: num(20), "StatusList.1": "RELATED" };
        paged = true;
        break;
      case "GetAccountRelation":
        params = { RelationId: String(rng.int(10000, 99999)) };
        break;
      case "QueryCashCoupons":
        params = {
          EffectiveOrNot: true,
          ExpiryTimeStart: this.isoAt(this.now - 30 * DAY),
          ExpiryTimeEnd: this.isoAt(this.now + 365 * DAY),
        };
        break;
      case "QueryInstanceByTag":
        params = {
          TagKey: rng.pick(["team", "env", "project", "cost-center"]),
          "TagValue.1": rng.pick(["prod", "staging", "shop", "data"]),
        };
        break;
      case "QueryCostUnit":
      case "QueryCostUnitResource":
        params = { OwnerUid: account.id, ParentUnitId: -1, PageNum: num(page), PageSize: num(20) };
        paged = true;
        break;
      case "QueryProductList":
        params = { QueryTotalCount: true, PageNum: num(page), PageSize: num(pageSize) };
        paged = true;
        break;
      default:
        if (/Usage|Coverage/.test(name)) {
          const monthly = rng.chance(0.6);
          params = {
            ResourceType: rng.pick(["RI", "SCU", "SAVING_PLAN"]),
            PeriodType: monthly ? "MONTH" : "DAY",
            StartPeriod: monthly ? this.monthly(-2) : `${this.monthly(-1)}-01 00:00:00`,
            EndPeriod: monthly ? this.monthly(-1) : `${this.monthly(-1)}-07 00:00:00`,
          };
        } else if (/Bill|Consum|Cost|Gaap|Utilization|Settle/.test(name)) {
          params = { BillingCycle: cycle, PageNum: num(page), PageSize: num(pageSize) };
          paged = true;
        } else if (rng.chance(0.5)) {
          params = { PageNum: num(page), PageSize: num(20) };
          paged = true;
        } else {
          params = {};
        }
    }
    const failure = this.failure(family, params);
    if (failure?.code === "InvalidParameter" && typeof params.BillingCycle === "string") {
      // The classic mistake: a month without its leading zero.
      params.BillingCycle = params.BillingCycle.replace(/-0(\d)$/, "-$1");
      failure.message = "The specified parameter BillingCycle is not valid.";
    }
    this.emit(this.bssCall(caller, name, agent, params, { data, refs, failure }));
    return paged && !failure;
  }

  private priceParams(account: Account, name: string, product: Product): Record<string, unknown> {
    const region = this.pickRegion(account);
    const params: Record<string, unknown> = {
      ProductCode: product.productCode,
      SubscriptionType: name === "GetPayAsYouGoPrice" ? "PayAsYouGo" : "Subscription",
    };
    if (name === "DescribePricingModule" || name === "QueryPriceList") return params;
    params.Region = region.id;
    if (name === "GetSubscriptionPrice") {
      params.OrderType = "NewOrder";
      params.ServicePeriodQuantity = this.rng.pick([1, 1, 3, 12]);
      params.ServicePeriodUnit = "Month";
      params.Quantity = 1;
    }
    const config = product.config(this.rng.fork("price"), this.rng.fork("price-size"), region, region.zones[0]);
    product.parameters(config).forEach(([code, value], i) => {
      params[`ModuleList.${i + 1}.ModuleCode`] = code;
      params[`ModuleList.${i + 1}.Config`] = `${code}:${value}`;
      if (name === "GetPayAsYouGoPrice") params[`ModuleList.${i + 1}.PriceType`] = "Hour";
    });
    return params;
  }

  private orderDetail(account: Account, order: OrderRef): Record<string, unknown> {
    const item: Record<string, unknown> = {
      OrderId: order.orderId,
      OrderType: order.orderType,
      ProductCode: order.product.productCode,
      ProductType: "",
      SubscriptionType: order.instance && !order.instance.subscription ? "PayAsYouGo" : "Subscription",
      PaymentStatus: order.paid ? "Paid" : "Unpaid",
    };
    if (order.paid) item.PaymentTime = this.isoAt(order.createdAt);
    item.CreateTime = this.isoAt(order.createdAt - this.rng.int(2, 40));
    item.Region = order.region.id;
    if (order.instance) item.InstanceIDs = order.instance.id;
    item.Currency = account.currency;
    item.PretaxGrossAmount = this.money(order.amount);
    item.PretaxAmount = this.money(order.amount);
    return {
      HostName: account.bssRegion,
      OrderList: { Order: [item] },
      TotalCount: 1,
      PageNum: 1,
      PageSize: 20,
    };
  }

  /** A purchase on a product's buy page: ConsoleOperation `Create` naming its order(s). */
  private purchaseConsole(account: Account): void {
    const caller = this.consoleUser(account);
    if (this.rng.chance(0.4)) {
      this.emit(this.signin(caller));
      this.wait(20, 300);
    }
    const product = this.rng.weighted(PRODUCTS, PRODUCT_WEIGHTS);
    const region = this.pickRegion(account);
    if (this.rng.chance(0.35)) {
      const name = this.rng.pick(["GetSubscriptionPrice", "DescribePricingModule"]);
      this.emit(this.bssCall(caller, name, BILLING_CONSOLE_AGENT, this.priceParams(account, name, product)));
      this.wait(20, 240);
    }
    const roll = this.rng.next();
    const orders: Array<{ orderId: string; instances: Instance[] }> = [];
    if (roll < 0.07 && product === ECS) {
      // Several identical instances in one order: resourceId lists them.
      const first = this.newInstance(account, product, region);
      const instances = [first];
      const count = this.rng.int(2, 4);
      for (let i = 1; i < count; i++) {
        const twin = this.newInstance(account, product, region);
        Object.assign(twin, {
          seed: first.seed,
          zone: first.zone,
          months: first.months,
          subscription: first.subscription,
          autoRenew: first.autoRenew,
        });
        instances.push(twin);
      }
      orders.push({ orderId: this.newOrderId(), instances });
    } else {
      const count = roll > 0.97 ? 2 : 1;
      for (let i = 0; i < count; i++) {
        orders.push({ orderId: this.newOrderId(), instances: [this.newInstance(account, product, region)] });
      }
    }
    this.emit(this.consoleOrder("Create", caller, product, region, orders));
    for (const order of orders) for (const instance of order.instances) this.adopt(instance, order.orderId, "New");
    if (this.rng.chance(0.25)) {
      this.wait(10, 120);
      const order = account.orders[account.orders.length - 1];
      this.emit(
        this.bssCall(
          caller,
          "GetOrderDetail",
          BILLING_CONSOLE_AGENT,
          { OrderId: order.orderId },
          {
            data: this.orderDetail(account, order),
            refs: order.instance ? this.refs([order.instance]) : null,
          },
        ),
      );
    }
  }

  /** A purchase through the Expenses and Costs API: CreateInstance, its order in the response. */
  private purchaseApi(account: Account): void {
    const caller = this.apiCaller(account, 0.25);
    const product = this.rng.weighted(PRODUCTS, PRODUCT_WEIGHTS);
    const region = this.pickRegion(account);
    if (this.rng.chance(0.5)) {
      this.emit(
        this.bssCall(
          caller,
          "GetSubscriptionPrice",
          caller.sdkAgent,
          this.priceParams(account, "GetSubscriptionPrice", product),
          {
            data: {
              Currency: account.currency,
              OriginalPrice: this.rng.int(50, 5000),
              DiscountPrice: 0,
              TradePrice: this.rng.int(50, 5000),
              Quantity: 1,
            },
          },
        ),
      );
      this.wait(1, 30);
    }
    const instance = this.newInstance(account, product, region);
    instance.subscription = true;
    if (instance.months === 0) instance.months = 1;
    const params: Record<string, unknown> = {
      ProductCode: product.productCode,
      ProductType: "",
      SubscriptionType: "Subscription",
      Period: instance.months,
      RenewalStatus: instance.autoRenew ? "AutoRenewal" : "ManualRenewal",
    };
    if (instance.autoRenew) params.RenewPeriod = instance.months >= 12 ? 12 : 1;
    params.ClientToken = this.rng.uuid();
    params["Parameter.1.Code"] = "Region";
    params["Parameter.1.Value"] = region.id;
    product.parameters(this.config(instance)).forEach(([code, value], i) => {
      params[`Parameter.${i + 2}.Code`] = code;
      params[`Parameter.${i + 2}.Value`] = value;
    });
    const failure = this.failure("bss", params);
    const orderId = failure ? "" : this.newOrderId();
    this.emit(
      this.bssCall(caller, "CreateInstance", caller.sdkAgent, params, {
        data: { OrderId: orderId, InstanceId: instance.id },
        refs: failure ? null : this.refs([instance]),
        failure,
      }),
    );
    if (failure) return;
    this.adopt(instance, orderId, "New");
    if (this.rng.chance(0.2)) {
      this.burst();
      this.setRenewal(caller, [instance], "AutoRenewal");
    }
  }

  /** Later in an instance's life: renew, change, refund, release, auto-renew settings, order lookups. */
  private lifecycle(account: Account): void {
    const instance = this.liveInstance(account);
    if (!instance) return this.purchaseConsole(account);
    const op = this.rng.weightedPair<string>([
      ["renewApi", instance.subscription ? 3 : 0],
      ["modifyApi", 2],
      ["modifyConsole", 2],
      ["refund", instance.subscription ? 1 : 0],
      ["release", instance.subscription ? 0 : 1],
      ["setRenewal", instance.subscription ? 2 : 0],
      ["orderDetail", 2],
    ]);
    switch (op) {
      case "renewApi":
        return this.renewInstanceApi(account, instance);
      case "modifyApi":
        return this.modifyApi(account, instance);
      case "modifyConsole": {
        const caller = this.consoleUser(account);
        const orderId = this.newOrderId();
        instance.gen++;
        this.emit(
          this.consoleOrder("Modify", caller, instance.product, instance.region, [{ orderId, instances: [instance] }]),
        );
        instance.lastOrderId = orderId;
        this.remember(account, orderId, "Upgrade", instance.product, instance.region, instance);
        return;
      }
      case "refund":
        return this.refund(account, instance);
      case "release":
        return this.release(account, instance);
      case "setRenewal": {
        const caller = this.apiCaller(account);
        const sameProduct = account.instances.filter(
          (other) => other.product === instance.product && other.subscription && other.availableAt <= this.now,
        );
        const chosen = this.rng.chance(0.3) ? sameProduct.slice(0, this.rng.int(1, 3)) : [instance];
        return this.setRenewal(caller, chosen.length > 0 ? chosen : [instance]);
      }
      default: {
        const caller = this.rng.chance(0.5) ? this.consoleUser(account) : this.apiCaller(account);
        const agent =
          caller.type === "ram-user" && caller.accessKeyId === null
            ? BILLING_CONSOLE_AGENT
            : this.rng.pick([caller.sdkAgent, BILLING_CONSOLE_AGENT]);
        this.bssRead(account, caller, "GetOrderDetail", agent, 1);
      }
    }
  }

  private renewInstanceApi(account: Account, instance: Instance): void {
    const caller = this.apiCaller(account);
    const params: Record<string, unknown> = {
      ProductCode: instance.product.productCode,
      InstanceId: instance.id,
      RenewPeriod: instance.months >= 12 ? 12 : instance.months,
    };
    if (this.rng.chance(0.5)) params.ClientToken = this.rng.uuid();
    const failure = this.failure("bssInstance", params);
    const orderId = failure ? "" : this.newOrderId();
    this.emit(
      this.bssCall(caller, "RenewInstance", caller.sdkAgent, params, {
        data: { OrderId: orderId },
        refs: this.refs([instance]),
        failure,
      }),
    );
    if (failure) return;
    instance.lastOrderId = orderId;
    this.remember(account, orderId, "Renew", instance.product, instance.region, instance);
    instance.expiresAt = this.expiry(instance.expiresAt - UTC8, instance.months);
    this.schedule(instance);
  }

  private modifyApi(account: Account, instance: Instance): void {
    const caller = this.apiCaller(account);
    const next = { ...instance, gen: instance.gen + 1 };
    const [code, value] = this.rng.pick(instance.product.parameters(this.config(next)));
    const params: Record<string, unknown> = {
      ProductCode: instance.product.productCode,
      InstanceId: instance.id,
      SubscriptionType: instance.subscription ? "Subscription" : "PayAsYouGo",
      ModifyType: this.rng.chance(0.75) ? "Upgrade" : "Downgrade",
      "Parameter.1.Code": code,
      "Parameter.1.Value": value,
    };
    const failure = this.failure("bssInstance", params);
    const orderId = failure ? "" : this.newOrderId();
    this.emit(
      this.bssCall(caller, "ModifyInstance", caller.sdkAgent, params, {
        data: { OrderId: orderId, HostId: account.bssRegion },
        refs: this.refs([instance]),
        failure,
      }),
    );
    if (failure) return;
    instance.gen++;
    instance.lastOrderId = orderId;
    this.remember(account, orderId, "Upgrade", instance.product, instance.region, instance);
  }

  /** A refund: the price inquiry, then the console's Refund or RefundInstance, and the instance is gone. */
  private refund(account: Account, instance: Instance): void {
    const viaConsole = this.rng.chance(0.6);
    const caller = viaConsole ? this.consoleUser(account) : this.apiCaller(account);
    const agent = viaConsole ? BILLING_CONSOLE_AGENT : caller.sdkAgent;
    const inquiry = {
      ProductCode: instance.product.productCode,
      InstanceId: instance.id,
      SubscriptionType: "Subscription",
      ClientToken: this.rng.uuid(),
    };
    const inquiryFailure = this.failure("bssInstance", inquiry);
    this.emit(
      this.bssCall(caller, "InquiryPriceRefundInstance", agent, inquiry, {
        data: { InstanceId: instance.id, Currency: account.currency, RefundAmount: this.rng.int(0, 90000) / 100 },
        refs: this.refs([instance]),
        failure: inquiryFailure,
      }),
    );
    if (inquiryFailure) return;
    this.wait(20, 300);
    const orderId = this.newOrderId();
    if (viaConsole) {
      this.emit(
        this.consoleOrder("Refund", caller, instance.product, instance.region, [{ orderId, instances: [instance] }]),
      );
    } else {
      const params = {
        ProductCode: instance.product.productCode,
        InstanceId: instance.id,
        ClientToken: this.rng.uuid(),
        ImmediatelyRelease: "1",
      };
      const failure = this.failure("bssInstance", params);
      this.emit(
        this.bssCall(caller, "RefundInstance", agent, params, {
          data: { InstanceId: instance.id, OrderId: orderId },
          refs: this.refs([instance]),
          failure,
        }),
      );
      if (failure) return;
    }
    this.remember(account, orderId, "Refund", instance.product, instance.region, instance);
    this.retire(instance);
  }

  private release(account: Account, instance: Instance): void {
    const caller = this.apiCaller(account);
    const params = {
      ProductCode: instance.product.productCode,
      ProductType: "",
      Region: instance.region.id,
      "InstanceIds.1": instance.id,
    };
    const failure = this.failure("bssInstance", params);
    this.emit(
      this.bssCall(caller, "ReleaseInstance", caller.sdkAgent, params, {
        data: { InstanceList: [instance.id], HostId: account.bssRegion },
        refs: this.refs([instance]),
        failure,
      }),
    );
    if (!failure) this.retire(instance);
  }

  private setRenewal(caller: Caller, instances: Instance[], status?: string): void {
    const renewalStatus =
      status ??
      this.rng.weightedPair<string>([
        ["AutoRenewal", 6],
        ["ManualRenewal", 3],
        ["NotRenewal", 1],
      ]);
    const first = instances[0];
    const params: Record<string, unknown> = {
      ProductCode: first.product.productCode,
      InstanceIDs: instances.map((instance) => instance.id).join(","),
      SubscriptionType: "Subscription",
      RenewalStatus: renewalStatus,
    };
    if (renewalStatus === "AutoRenewal") {
      params.RenewalPeriod = first.months >= 12 ? 1 : first.months;
      params.RenewalPeriodUnit = first.months >= 12 ? "Y" : "M";
    }
    const failure = this.failure("bssInstance", params);
    this.emit(
      this.bssCall(caller, "SetRenewal", caller.sdkAgent, params, { data: null, refs: this.refs(instances), failure }),
    );
    if (failure) return;
    for (const instance of instances) instance.autoRenew = renewalStatus === "AutoRenewal";
  }

  /** An unpaid order found, looked at and cancelled (the samples' 2106198**** story). */
  private unpaidOrder(account: Account): void {
    const caller = this.rng.chance(0.5) ? this.consoleUser(account) : this.apiCaller(account);
    const agent =
      caller.accessKeyId === null || caller.type === "root-account" ? BILLING_CONSOLE_AGENT : caller.sdkAgent;
    const product = this.rng.weighted(PRODUCTS, PRODUCT_WEIGHTS);
    const region = this.pickRegion(account);
    const orderId = this.newOrderId();
    const createdAt = this.now - this.rng.int(1, 10) * DAY;
    const amount = this.rng.int(1000, 100000) / 100;
    const start = this.now - (this.now % DAY) - 30 * DAY;
    this.emit(
      this.bssCall(
        caller,
        "QueryOrders",
        agent,
        { PaymentStatus: "Unpaid", CreateTimeStart: this.isoAt(start), PageNum: 1, PageSize: 20 },
        {
          data: {
            HostName: account.bssRegion,
            OrderList: {
              Order: [
                {
                  OrderId: orderId,
                  OrderType: "New",
                  ProductCode: product.productCode,
                  ProductType: "",
                  SubscriptionType: "Subscription",
                  PaymentStatus: "Unpaid",
                  CreateTime: this.isoAt(createdAt),
                  Currency: account.currency,
                  PretaxAmount: this.money(amount),
                },
              ],
            },
            TotalCount: "1",
            PageNum: 1,
            PageSize: 20,
          },
        },
      ),
    );
    const ref = this.remember(account, orderId, "New", product, region, null, false);
    ref.createdAt = createdAt;
    ref.amount = amount;
    this.wait(20, 120);
    this.emit(
      this.bssCall(caller, "GetOrderDetail", agent, { OrderId: orderId }, { data: this.orderDetail(account, ref) }),
    );
    this.wait(5, 60);
    const params = { OrderId: orderId };
    const failure = this.failure("bss", params);
    this.emit(this.bssCall(caller, "CancelOrder", agent, params, { data: { OrderId: orderId }, failure }));
  }

  /** Other Expenses and Costs writes: cost centers, bill subscriptions, tags, invoices, resource packages... */
  private bssWrites(account: Account): void {
    const caller = this.rng.chance(0.3) ? account.root : this.apiCaller(account);
    const agent = caller === account.root && !account.rootHasKey ? BILLING_CONSOLE_AGENT : caller.sdkAgent;
    const name: string = this.rng.weighted(BSS_WRITES, BSS_WRITE_WEIGHTS);
    const rng = this.rng;
    let params: Record<string, unknown> = {};
    let data: Record<string, unknown> | null = null;
    let refs: Record<string, string[]> | null = null;
    switch (name) {
      case "TagResources": {
        const instance = this.liveInstance(account);
        const id = instance ? instance.id : `i-${account.home.code}${rng.lowerAlnum(18)}`;
        params = {
          ResourceType: "instance",
          "ResourceId.1": id,
          "Tag.1.Key": rng.pick(["team", "env", "project", "cost-center"]),
          "Tag.1.Value": rng.pick(["prod", "staging", "shop", "data", "platform"]),
        };
        refs = instance ? this.refs([instance]) : { [ECS.resourceType]: [id] };
        break;
      }
      case "CreateCostUnit":
        params = {
          "UnitEntityList.1.OwnerUid": account.id,
          "UnitEntityList.1.ParentUnitId": -1,
          "UnitEntityList.1.UnitName": `${rng.pick(["team", "dept", "project"])}-${rng.lowerAlnum(4)}`,
        };
        data = { ResultList: [{ UnitId: rng.int(100000, 999999), OwnerUid: account.id }] };
        break;
      case "ModifyCostUnit":
      case "DeleteCostUnit":
        params = { OwnerUid: account.id, UnitId: rng.int(100000, 999999) };
        break;
      case "AllocateCostUnitResource":
        params = {
          FromUnitId: rng.int(100000, 999999),
          FromUnitUserId: account.id,
          ToUnitId: rng.int(100000, 999999),
          ToUnitUserId: account.id,
          "ResourceInstanceList.1.CommodityCode": rng.pick(["ecs", "rds", "slb"]),
          "ResourceInstanceList.1.ResourceUserId": account.id,
        };
        break;
      case "SubscribeBillToOSS":
      case "UnsubscribeBillToOSS":
        params = {
          SubscribeType: rng.pick([
            "BillingItemDetailForBillingPeriod",
            "InstanceDetailForBillingPeriod",
            "BillOverviewForBillingPeriod",
          ]),
        };
        if (name === "SubscribeBillToOSS") params.SubscribeBucket = `bill-export-${rng.lowerAlnum(6)}`;
        break;
      case "ApplyInvoice":
        params = {
          CustomerId: rng.int(100000, 999999),
          InvoiceAmount: rng.int(10000, 5000000),
          InvoicingType: 1,
          ProcessWay: 2,
          AddressId: rng.int(100000, 999999),
          "SelectedIds.1": rng.int(1000000, 9999999),
        };
        break;
      case "CreateResourcePackage":
      case "CreateSavingsPlansInstance": {
        params =
          name === "CreateResourcePackage"
            ? {
                ProductCode: rng.pick(["ecs", "oss", "cdn"]),
                PackageType: rng.pick(["FPT_ossbag_absolute_Storage_sh", "FPT_cdnpaybag_deadlineAcc_1541405199"]),
                Duration: 1,
                PricingCycle: "Year",
                Specification: rng.pick(["100GB", "500GB", "1TB"]),
                EffectiveDate: this.isoAt(this.now + DAY),
              }
            : {
                CommodityCode: "savingplan_common_public_cn",
                PayMode: rng.pick(["total", "half", "zero"]),
                PoolValue: String(rng.pick([1, 5, 10])),
                Duration: "1",
                PricingCycle: "Year",
                Specification: "ecs.g7",
                Region: account.home.id,
              };
        const failure = this.failure("bss", params);
        const orderId = failure ? "" : this.newOrderId();
        this.emit(this.bssCall(caller, name, agent, params, { data: { OrderId: orderId }, failure }));
        if (!failure) this.remember(account, orderId, "New", PRODUCTS[0], account.home, null);
        return;
      }
      case "SetAllExpirationDay":
        params = { UnifyExpireDay: String(rng.int(1, 28)) };
        break;
      case "AddAccountRelation":
      case "ModifyAccountRelation":
      case "RelieveAccountRelation":
      case "ConfirmRelation":
        params = {
          ParentUserId: account.id,
          ChildUserId: `1${rng.digits(11, true)}****`,
          RelationType: "enterprise_group",
        };
        break;
      default:
        params = rng.chance(0.5) ? { OwnerId: 0 } : {};
    }
    const failure = this.failure("bss", params);
    this.emit(this.bssCall(caller, name, agent, params, { data, refs, failure }));
  }

  /** An operator on ECS: maybe assume a role first, then describe, start, stop, reboot. */
  private ecsOps(account: Account): void {
    let caller: Caller;
    const roll = this.rng.next();
    if (roll < 0.45) {
      const via =
        account.bots.length > 0 && this.rng.chance(0.5) ? this.rng.pick(account.bots) : this.apiCaller(account, 0);
      if (this.rng.chance(0.35) && via.type !== "assumed-role") {
        caller = this.roleSession(account, this.now, via.type === "root-account" ? undefined : via.userName);
        this.assumeRole(account, via, caller);
        this.wait(1, 20);
      } else {
        caller = this.roleSession(account, this.now - this.rng.int(60, 3000));
      }
    } else {
      caller = this.apiCaller(account, 0);
    }
    const anchor = this.liveInstance(account, (instance) => instance.product === ECS);
    const region = anchor ? anchor.region : this.pickRegion(account);
    const fleet = account.instances.filter(
      (instance) => instance.product === ECS && instance.region === region && instance.availableAt <= this.now,
    );
    const n = this.rng.count(4, 16);
    for (let i = 0; i < n; i++) {
      if (i > 0 && this.rng.chance(0.4)) this.burst();
      else if (i > 0) this.wait(1, 25);
      const op = this.rng.weightedPair<string>([
        ["DescribeInstances", 5],
        ["DescribeInstanceStatus", 3],
        ["DescribeInstanceAttribute", fleet.length > 0 ? 2 : 0],
        ["StartInstance", fleet.length > 0 ? 1 : 0],
        ["StopInstance", fleet.length > 0 ? 1 : 0],
        ["RebootInstance", fleet.length > 0 ? 0.6 : 0],
        ["ModifyInstanceAttribute", fleet.length > 0 ? 0.4 : 0],
        ["DescribeDisks", 2],
        ["DescribeSecurityGroups", 1.5],
        ["DescribeRegions", 0.7],
      ]);
      this.ecsCall(account, caller, op, region, fleet);
    }
  }

  private ecsCall(account: Account, caller: Caller, op: string, region: Region, fleet: Instance[]): void {
    const rng = this.rng;
    let params: Record<string, unknown>;
    let response: Record<string, unknown> | null = null;
    let refs: Record<string, string[]> | null = null;
    let rw: "Read" | "Write" = "Read";
    const target = fleet.length > 0 ? rng.pick(fleet) : null;
    switch (op) {
      case "DescribeInstances": {
        const pageSize = rng.pick([10, 50, 100]);
        params = { RegionId: region.id, PageSize: rng.chance(0.5) ? pageSize : String(pageSize), PageNumber: 1 };
        const shown = fleet.slice(0, Math.min(fleet.length, 10));
        response = { TotalCount: fleet.length, PageSize: pageSize, PageNumber: 1 };
        if (shown.length > 0) refs = this.refs(shown);
        break;
      }
      case "DescribeInstanceStatus":
        params = { RegionId: region.id };
        if (target) {
          params["InstanceId.1"] = target.id;
          refs = this.refs([target]);
        }
        break;
      case "DescribeInstanceAttribute":
        params = { InstanceId: (target as Instance).id };
        refs = this.refs([target as Instance]);
        response = {
          InstanceId: (target as Instance).id,
          RegionId: region.id,
          Status: rng.pick(["Running", "Running", "Stopped"]),
        };
        break;
      case "StartInstance":
      case "StopInstance":
      case "RebootInstance":
      case "ModifyInstanceAttribute":
        rw = "Write";
        params = { InstanceId: (target as Instance).id };
        if (op === "StopInstance") {
          params.ForceStop = "false";
          params.StoppedMode = rng.pick(["StopCharging", "KeepCharging"]);
        } else if (op === "ModifyInstanceAttribute") {
          params.InstanceName = `${rng.pick(["web", "api", "worker", "db-proxy", "bastion"])}-${rng.int(1, 40)}`;
        }
        refs = this.refs([target as Instance]);
        response = {};
        break;
      case "DescribeDisks":
        params = { RegionId: region.id, PageSize: 50 };
        if (target) {
          params.InstanceId = target.id;
          refs = this.refs([target]);
        }
        response = { TotalCount: rng.int(0, 40), PageSize: 50, PageNumber: 1 };
        break;
      case "DescribeSecurityGroups":
        params = { RegionId: region.id, PageSize: "50" };
        break;
      default:
        params = { AcceptLanguage: rng.pick(["zh-CN", "en-US"]) };
    }
    const failure = this.failure("ecs", params);
    this.emit(
      this.api({
        caller,
        service: ECS_API,
        name: op,
        rw,
        region: op === "DescribeRegions" ? account.home.id : region.id,
        agent: caller.sdkAgent,
        params,
        response,
        refs,
        failure,
      }),
    );
  }

  private assumeRole(account: Account, via: Caller, session: Caller): void {
    const [roleId, sessionName] = session.principalId.split(":");
    const roleName = session.userName.split(":")[0];
    const params = {
      RoleArn: `acs:ram::${account.id}:role/${roleName}`,
      RoleSessionName: sessionName,
      DurationSeconds: this.rng.pick([900, 3600, 3600, 43200]),
    };
    const failure = this.failure("sts", params);
    this.emit(
      this.api({
        caller: via,
        service: STS,
        name: "AssumeRole",
        rw: "Write",
        region: account.bssRegion,
        agent: via.sdkAgent,
        params,
        response: {
          AssumedRoleUser: {
            Arn: `acs:ram::${account.id}:role/${roleName}/${sessionName}`,
            AssumedRoleId: `${roleId}:${sessionName}`,
          },
          Credentials: { AccessKeyId: session.accessKeyId, Expiration: this.isoAt(this.now + params.DurationSeconds) },
        },
        refs: { "ACS::RAM::Role": [roleName] },
        failure,
        global: true,
      }),
    );
  }

  /** Identity administration: list, create and entitle users and roles. */
  private ramAdmin(account: Account): void {
    const caller = this.rng.chance(0.55) || account.humans.length === 0 ? account.root : account.humans[0];
    const agent = this.rng.chance(0.7) ? CONSOLE_AGENT : caller.sdkAgent;
    const n = this.rng.count(2.5, 10);
    for (let i = 0; i < n; i++) {
      if (i > 0) this.wait(1, 45);
      const op = this.rng.weightedPair<string>([
        ["ListUsers", 3],
        ["GetUser", 2],
        ["CreateUser", 1],
        ["AttachPolicyToUser", 1],
        ["ListPoliciesForUser", 1.5],
        ["ListAccessKeys", 1],
        ["CreateAccessKey", 0.4],
        ["ListRoles", 1],
        ["CreateRole", 0.3],
        ["AttachPolicyToRole", 0.4],
        ["DetachPolicyFromUser", 0.3],
        ["ListPolicies", 1],
      ]);
      this.ramCall(account, caller, agent, op);
    }
  }

  private ramCall(account: Account, caller: Caller, agent: string, op: string): void {
    const rng = this.rng;
    const existing = [...account.humans, ...account.bots];
    const someone = existing.length > 0 ? rng.pick(existing).userName : "alice";
    const [policy, policyType] = rng.pick(RAM_POLICIES);
    const role = rng.pick(account.roles);
    let params: Record<string, unknown> = {};
    let response: Record<string, unknown> = {};
    let refs: Record<string, string[]> | null = null;
    let rw: "Read" | "Write" = "Write";
    switch (op) {
      case "ListUsers":
      case "ListRoles":
      case "ListPolicies":
        rw = "Read";
        params = { MaxItems: rng.pick([100, 1000]) };
        if (op === "ListPolicies") params.PolicyType = rng.pick(["System", "Custom"]);
        response = { IsTruncated: false };
        break;
      case "GetUser":
      case "ListPoliciesForUser":
      case "ListAccessKeys":
        rw = "Read";
        params = { UserName: someone };
        refs = { "ACS::RAM::User": [someone] };
        break;
      case "CreateUser": {
        const name = `${rng.pick(NEW_USER_PREFIXES)}-${++account.newUsers}`;
        params = { UserName: name, DisplayName: name };
        response = { User: { UserId: `2${rng.digits(15, true)}`, UserName: name, CreateDate: this.time() } };
        refs = { "ACS::RAM::User": [name] };
        break;
      }
      case "AttachPolicyToUser":
      case "DetachPolicyFromUser":
        params = { PolicyType: policyType, PolicyName: policy, UserName: someone };
        refs = { "ACS::RAM::User": [someone], "ACS::RAM::Policy": [policy] };
        break;
      case "CreateAccessKey":
        params = { UserName: someone };
        response = { AccessKey: { AccessKeyId: `LTAI5t${rng.alnum(18)}`, Status: "Active", CreateDate: this.time() } };
        refs = { "ACS::RAM::User": [someone] };
        break;
      case "CreateRole":
        params = {
          RoleName: `${role.roleName}-${rng.lowerAlnum(3)}`,
          AssumeRolePolicyDocument: `{"Statement":[{"Action":"sts:AssumeRole","Effect":"Allow","Principal":{"RAM":["acs:ram::${account.id}:root"]}}],"Version":"1"}`,
        };
        response = { Role: { RoleId: `3${rng.digits(17, true)}`, RoleName: params.RoleName, CreateDate: this.time() } };
        refs = { "ACS::RAM::Role": [params.RoleName as string] };
        break;
      default:
        params = { PolicyType: policyType, PolicyName: policy, RoleName: role.roleName };
        refs = { "ACS::RAM::Role": [role.roleName], "ACS::RAM::Policy": [policy] };
    }
    const failure = this.failure("ram", params);
    this.emit(
      this.api({
        caller,
        service: RAM,
        name: op,
        rw,
        region: account.bssRegion,
        agent,
        params,
        response,
        refs,
        failure,
        global: true,
        hexId: rng.chance(0.7),
        withKey: agent !== CONSOLE_AGENT,
      }),
    );
  }

  /** A console visit that leaves only its sign-in (and sometimes its sign-out). */
  private signinSession(account: Account): void {
    const caller = this.consoleUser(account);
    this.emit(this.signin(caller));
    if (this.rng.chance(0.3)) {
      this.wait(120, 5400);
      this.emit(this.signin(caller, true));
    }
  }
}
