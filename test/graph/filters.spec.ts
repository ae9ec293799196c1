import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  assumedRole,
  buildEvent,
  ramUser,
  rootAccount,
  systemIdentity,
  type ActionTrailEvent,
} from "../support/event-builder";
import { dataOf, openTestStore, type GraphQLResponse, type TestStore } from "../support/harness";
import { storesUnderTest } from "../support/stores";

/**
 * EventFilter, field by field and combined, on the root list and on nested lists, plus the
 * order and resource filters. Every expected set is computed from the dataset below by a
 * predicate on what each event says, and checked to be neither empty nor everything.
 */

const A = "151266687691****";
const B = "176618589410****";
const C = "133592699956****";

const WHO = {
  rootA: rootAccount(A),
  aliceA: ramUser("alice", A),
  bobA: ramUser("bob", A),
  // Same user name as aliceA, in another account: another identity.
  aliceB: { ...ramUser("alice", B, "LTAI5tBALICE****"), principalId: "204516958012345" },
  carolB: ramUser("carol", B),
  opsRole: assumedRole("OpsRole", "deploy", A),
  rootC: rootAccount(C),
  system: systemIdentity(),
} as const;
type Who = keyof typeof WHO;

const SERVICES = {
  ecs: { serviceName: "Ecs", eventSource: "ecs.aliyuncs.com", apiVersion: "2014-05-26" },
  bss: { serviceName: "BssOpenApi", eventSource: "business.aliyuncs.com", apiVersion: "2017-12-14" },
  ram: { serviceName: "Ram", eventSource: "ram.aliyuncs.com", apiVersion: "2015-05-01" },
  slb: { serviceName: "Slb", eventSource: "slb.aliyuncs.com", apiVersion: "2014-05-15" },
  signin: { serviceName: "AasSub", eventSource: "signin.aliyun.com", apiVersion: undefined },
};

/** Operations: name, type, read/write and service. */
const OPS = {
  signin: { eventName: "ConsoleSignin", eventType: "ConsoleSignin", eventRW: undefined, ...SERVICES.signin },
  create: { eventName: "Create", eventType: "ConsoleOperation", eventRW: "Write", ...SERVICES.ecs },
  describe: { eventName: "DescribeInstances", eventType: "ApiCall", eventRW: "Read", ...SERVICES.ecs },
  stop: { eventName: "StopInstance", eventType: "ApiCall", eventRW: "Write", ...SERVICES.ecs },
  describeSlb: { eventName: "DescribeLoadBalancers", eventType: "ApiCall", eventRW: "Read", ...SERVICES.slb },
  queryBill: { eventName: "QueryBill", eventType: "ApiCall", eventRW: "Read", ...SERVICES.bss },
  getOrder: { eventName: "GetOrderDetail", eventType: "ApiCall", eventRW: "Read", ...SERVICES.bss },
  cancelOrder: { eventName: "CancelOrder", eventType: "ApiCall", eventRW: "Write", ...SERVICES.bss },
  renew: { eventName: "RenewInstance", eventType: "ApiCall", eventRW: "Write", ...SERVICES.bss },
  autoRenew: { eventName: "AutoRenewInstance", eventType: "AliyunServiceEvent", eventRW: "Write", ...SERVICES.bss },
  createUser: { eventName: "CreateUser", eventType: "ApiCall", eventRW: "Write", ...SERVICES.ram },
};
type Op = keyof typeof OPS;

const ECS = "ACS::ECS::Instance";
const DISK = "ACS::ECS::Disk";
const SLB = "ACS::SLB::LoadBalancer";
const RAM_USER = "ACS::RAM::User";
const RDS = "ACS::RDS::DBInstance";

const O1 = "21054641001";
const O2 = "21054641002";
const O3 = "21054641003";
const O4 = "21054641004";
const O5 = "21054641005";
const O6 = "21054641006";

const IP = {
  office: "192.168.XX.XX",
  home: "47.98.XX.XX",
  vpn: "100.104.XX.XX",
  ci: "10.0.XX.XX",
  branch: "39.170.XX.XX",
};

interface Spec {
  op: Op;
  who: Who;
  /** Owner, for identities that name no account (system). */
  account?: string;
  region: string;
  ip?: string;
  error?: string;
  resources?: Array<[type: string, id: string]>;
  order?: string;
  /** Minutes after T0; events with equal minutes share their time. */
  at: number;
}

const T0 = Date.parse("2021-09-01T00:00:00Z");

const SPECS: Spec[] = [
  { at: 0, op: "signin", who: "rootA", region: "cn-hangzhou", ip: IP.office },
  {
    at: 5,
    op: "create",
    who: "rootA",
    region: "cn-hangzhou",
    ip: IP.office,
    resources: [[ECS, "i-bp1aaa****"]],
    order: O1,
  },
  { at: 20, op: "describe", who: "aliceA", region: "cn-hangzhou", ip: IP.home, resources: [[ECS, "i-bp1aaa****"]] },
  { at: 25, op: "getOrder", who: "aliceA", region: "cn-hangzhou", ip: IP.home, order: O1 },
  {
    at: 40,
    op: "stop",
    who: "bobA",
    region: "cn-hangzhou",
    ip: IP.vpn,
    error: "Forbidden.RAM",
    resources: [[ECS, "i-bp1aaa****"]],
  },
  { at: 40, op: "describe", who: "bobA", region: "cn-shanghai", ip: IP.vpn, resources: [[ECS, "i-bp1ccc****"]] },
  { at: 55, op: "stop", who: "opsRole", region: "cn-shanghai", ip: IP.ci, resources: [[ECS, "i-bp1ccc****"]] },
  {
    at: 70,
    op: "renew",
    who: "aliceA",
    region: "cn-hangzhou",
    ip: IP.home,
    resources: [[ECS, "i-bp1aaa****"]],
    order: O2,
  },
  {
    at: 85,
    op: "cancelOrder",
    who: "bobA",
    region: "cn-hangzhou",
    ip: IP.vpn,
    error: "InvalidOrder.StatusNotAllowed",
    order: O1,
  },
  {
    at: 100,
    op: "autoRenew",
    who: "system",
    account: A,
    region: "cn-hangzhou",
    resources: [[ECS, "i-bp1bbb****"]],
    order: O4,
  },
  { at: 115, op: "signin", who: "aliceB", region: "cn-shanghai", ip: IP.branch },
  {
    at: 130,
    op: "create",
    who: "aliceB",
    region: "cn-shanghai",
    ip: IP.branch,
    resources: [[SLB, "lb-uf6xxx****"]],
    order: O3,
  },
  { at: 145, op: "queryBill", who: "carolB", region: "cn-shanghai", ip: IP.branch, error: "" },
  {
    at: 160,
    op: "createUser",
    who: "carolB",
    region: "cn-shanghai",
    ip: IP.branch,
    error: "EntityAlreadyExists.User",
    resources: [[RAM_USER, "dave"]],
  },
  {
    at: 175,
    op: "create",
    who: "rootC",
    region: "ap-southeast-1",
    ip: IP.office,
    resources: [[RDS, "rm-t4nyyy****"]],
    order: O5,
  },
  {
    at: 190,
    op: "describe",
    who: "rootC",
    region: "ap-southeast-1",
    ip: IP.office,
    resources: [[ECS, "i-t4nzzz****"]],
  },
  {
    at: 205,
    op: "describe",
    who: "opsRole",
    region: "cn-shanghai",
    ip: IP.ci,
    resources: [
      [ECS, "i-bp1ccc****"],
      [DISK, "d-bp1ddd****"],
    ],
  },
  { at: 205, op: "queryBill", who: "aliceA", region: "cn-hangzhou", ip: IP.home },
  { at: 220, op: "getOrder", who: "bobA", region: "cn-hangzhou", ip: IP.vpn, error: "NotFound.Order", order: O2 },
  {
    at: 235,
    op: "describeSlb",
    who: "aliceB",
    region: "cn-shanghai",
    ip: IP.branch,
    resources: [[SLB, "lb-uf6xxx****"]],
  },
  {
    at: 250,
    op: "autoRenew",
    who: "system",
    account: C,
    region: "ap-southeast-1",
    resources: [[RDS, "rm-t4nyyy****"]],
    order: O6,
  },
  { at: 265, op: "queryBill", who: "rootA", region: "cn-hangzhou", ip: IP.office },
  {
    at: 280,
    op: "stop",
    who: "aliceA",
    region: "cn-hangzhou",
    ip: IP.home,
    error: "IncorrectInstanceStatus",
    resources: [[ECS, "i-bp1aaa****"]],
  },
  { at: 295, op: "describe", who: "carolB", region: "cn-shanghai", ip: IP.branch, resources: [[ECS, "i-uf6eee****"]] },
  { at: 310, op: "getOrder", who: "opsRole", region: "cn-hangzhou", ip: IP.ci, order: O4 },
  { at: 325, op: "queryBill", who: "rootC", region: "ap-southeast-1", ip: IP.office, error: "Forbidden" },
  { at: 340, op: "getOrder", who: "aliceA", region: "cn-hangzhou", ip: IP.home, order: O1 },
  { at: 355, op: "describe", who: "aliceA", region: "cn-shanghai", ip: IP.home, resources: [[DISK, "d-bp1ddd****"]] },
];

/** What a test knows about each event: its fields as sent, and the links it carries. */
interface Model {
  eventId: string;
  arrival: number;
  time: number;
  eventName: string;
  eventType: string;
  eventRW: string | null;
  serviceName: string;
  eventSource: string;
  region: string;
  accountId: string;
  principalId: string | null;
  userName: string | null;
  identityType: string;
  accessKeyId: string | null;
  ip: string | null;
  errorCode: string | null;
  failed: boolean;
  resources: Array<{ type: string; resourceId: string }>;
  orderIds: string[];
}

function build(): { events: ActionTrailEvent[]; models: Model[] } {
  const events: ActionTrailEvent[] = [];
  const models: Model[] = [];
  SPECS.forEach((spec, arrival) => {
    const op = OPS[spec.op];
    const who = WHO[spec.who] as Record<string, string | undefined>;
    const accountId = who.accountId ?? spec.account!;
    const time = T0 + spec.at * 60_000;
    const referencedResources: Record<string, string[]> = {};
    for (const [type, id] of spec.resources ?? []) (referencedResources[type] ??= []).push(id);
    const links: Record<string, unknown> = {};
    if (spec.resources) links.referencedResources = referencedResources;
    if (spec.order && (spec.op === "create" || spec.op === "autoRenew")) {
      const [, resourceId] = spec.resources![0];
      links.additionalEventData = {
        orderIds: spec.order,
        ...(spec.op === "autoRenew" ? { [spec.order]: { resourceId, articleConfig: { period: "1" } } } : {}),
      };
    } else if (spec.order && spec.op === "renew") {
      links.requestParameters = { InstanceId: spec.resources![0][1], ProductCode: "ecs", RenewPeriod: 1 };
      links.responseElements = { Data: { OrderId: spec.order }, RequestId: "0F1D6E42-5C4C-4E0A-9C5B-5D5E2A1E5F21" };
    } else if (spec.order) {
      links.requestParameters = { OrderId: spec.order };
    }
    const event = buildEvent({
      ...op,
      eventTime: new Date(time),
      acsRegion: spec.region,
      userIdentity: WHO[spec.who],
      recipientAccountId: accountId,
      sourceIpAddress: spec.ip,
      errorCode: spec.error,
      errorMessage: spec.error ? `The operation failed: ${spec.error}.` : undefined,
      ...links,
    });
    events.push(event);
    models.push({
      eventId: event.eventId,
      arrival,
      time,
      eventName: op.eventName,
      eventType: op.eventType,
      eventRW: op.eventRW ?? null,
      serviceName: op.serviceName,
      eventSource: op.eventSource,
      region: spec.region,
      accountId,
      principalId: who.principalId ?? null,
      userName: who.userName ?? null,
      identityType: who.type!,
      accessKeyId: who.accessKeyId ?? null,
      ip: spec.ip ?? null,
      errorCode: spec.error ? spec.error : null,
      failed: Boolean(spec.error),
      resources: (spec.resources ?? []).map(([type, resourceId]) => ({ type, resourceId })),
      orderIds: spec.order ? [spec.order] : [],
    });
  });
  return { events, models };
}

const { events, models } = build();
const byId = new Map(models.map((m) => [m.eventId, m]));
const iso = (ms: number) => new Date(ms).toISOString();
const sorted = (list: Iterable<string>) => [...list].sort();
const idsOf = (list: readonly Model[]) => sorted(list.map((m) => m.eventId));

interface OrderModel {
  orderId: string;
  accountId: string;
  createdAt: number;
}

/** Orders as the store derives them: placed at the purchase's time, else the first mention. */
function orderModels(): OrderModel[] {
  const orders = new Map<string, OrderModel & { placed: boolean }>();
  for (const m of models) {
    for (const orderId of m.orderIds) {
      const placed = m.eventName === "Create";
      const kept = orders.get(orderId);
      if (!kept) orders.set(orderId, { orderId, accountId: m.accountId, createdAt: m.time, placed });
      else if (!kept.placed && (placed || m.time < kept.createdAt)) {
        kept.createdAt = m.time;
        kept.placed = placed;
      }
    }
  }
  return [...orders.values()].map(({ orderId, accountId, createdAt }) => ({ orderId, accountId, createdAt }));
}

interface ResourceModel {
  type: string;
  resourceId: string;
  accountId: string;
}

/** Resources in first-seen order, owned by the account of the first event naming them. */
function resourceModels(): ResourceModel[] {
  const resources = new Map<string, ResourceModel>();
  for (const m of models) {
    for (const r of m.resources) {
      const key = `${r.type}\u0000${r.resourceId}`;
      if (!resources.has(key)) resources.set(key, { ...r, accountId: m.accountId });
    }
  }
  return [...resources.values()];
}

type Predicate = (m: Model) => boolean;

const FILTERED = `query($filter: EventFilter) {
  events(filter: $filter, first: 500) { totalCount nodes { eventId } pageInfo { hasNextPage } }
}`;

function expectUserError(response: GraphQLResponse<any>, message: RegExp, field: string): void {
  expect(response.errors, JSON.stringify(response)).toBeDefined();
  expect(response.errors![0].message).toMatch(message);
  expect(response.errors![0].extensions?.code).toBe("BAD_USER_INPUT");
  expect(response.data?.[field] ?? null).toBeNull();
}

describe.each(storesUnderTest())("EventFilter and list filters ($kind)", ({ kind, available }) => {
  let store: TestStore;

  beforeAll(async () => {
    if (!available) return;
    store = await openTestStore(kind);
    const summary = await store.ingestEvents(events);
    expect(summary.rejected).toBe(0);
    expect(summary.inserted).toBe(events.length);
  });
  afterAll(async () => store?.close());

  /** Event IDs the root list returns for a filter (its totalCount checked too). */
  async function matching(filter: Record<string, unknown>): Promise<string[]> {
    const page = dataOf(await store.graphql(FILTERED, { filter })).events;
    const ids = page.nodes.map((n: any) => n.eventId as string);
    expect(page.totalCount).toBe(ids.length);
    expect(page.pageInfo.hasNextPage).toBe(false);
    expect(new Set(ids).size).toBe(ids.length);
    return sorted(ids);
  }

  /** The expected set: non-empty and not every event of `among`, so the check can fail. */
  function expectedSet(predicate: Predicate, among: readonly Model[] = models): string[] {
    const want = among.filter(predicate);
    expect(want.length, "the expected set is empty: the test could not fail").toBeGreaterThan(0);
    expect(want.length, "the expected set is everything: the test could not fail").toBeLessThan(among.length);
    return idsOf(want);
  }

  async function expectFilter(filter: Record<string, unknown>, predicate: Predicate): Promise<string[]> {
    const want = expectedSet(predicate);
    expect(await matching(filter)).toEqual(want);
    return want;
  }

  describe("each field", () => {
    it.skipIf(!available)("eventIds", async () => {
      const wanted = [models[3].eventId, models[17].eventId];
      await expectFilter({ eventIds: [...wanted, "no-such-event"] }, (m) => wanted.includes(m.eventId));
    });

    it.skipIf(!available)("eventNames", async () => {
      await expectFilter({ eventNames: ["StopInstance", "CancelOrder"] }, (m) =>
        ["StopInstance", "CancelOrder"].includes(m.eventName),
      );
    });

    it.skipIf(!available)("eventTypes", async () => {
      await expectFilter({ eventTypes: ["ConsoleSignin", "AliyunServiceEvent"] }, (m) =>
        ["ConsoleSignin", "AliyunServiceEvent"].includes(m.eventType),
      );
    });

    it.skipIf(!available)("eventRW", async () => {
      await expectFilter({ eventRW: ["Write"] }, (m) => m.eventRW === "Write");
      await expectFilter({ eventRW: ["Read"] }, (m) => m.eventRW === "Read");
      // Sign-ins have no eventRW: both values still leave them out.
      await expectFilter({ eventRW: ["Read", "Write"] }, (m) => m.eventRW !== null);
    });

    it.skipIf(!available)("serviceNames", async () => {
      await expectFilter({ serviceNames: ["Ram", "BssOpenApi"] }, (m) => ["Ram", "BssOpenApi"].includes(m.serviceName));
    });

    it.skipIf(!available)("eventSources", async () => {
      const sources = ["signin.aliyun.com", "slb.aliyuncs.com"];
      await expectFilter({ eventSources: sources }, (m) => sources.includes(m.eventSource));
    });

    it.skipIf(!available)("regions", async () => {
      const regions = ["cn-shanghai", "ap-southeast-1"];
      await expectFilter({ regions }, (m) => regions.includes(m.region));
    });

    it.skipIf(!available)("accountIds", async () => {
      await expectFilter({ accountIds: [B, C] }, (m) => m.accountId === B || m.accountId === C);
      // A system event belongs to its recipient.
      const system = models.filter((m) => m.identityType === "system" && m.accountId === A);
      expect(system.length).toBeGreaterThan(0);
      const ofA = await expectFilter({ accountIds: [A] }, (m) => m.accountId === A);
      for (const m of system) expect(ofA).toContain(m.eventId);
    });

    it.skipIf(!available)("principalIds", async () => {
      const principals = [WHO.aliceA.principalId, WHO.opsRole.principalId];
      await expectFilter({ principalIds: principals }, (m) => principals.includes(m.principalId as never));
    });

    it.skipIf(!available)("userNames", async () => {
      // Two identities in two accounts share the user name.
      const alice = await expectFilter({ userNames: ["alice"] }, (m) => m.userName === "alice");
      expect(new Set(alice.map((id) => byId.get(id)!.accountId))).toEqual(new Set([A, B]));
      await expectFilter({ userNames: ["root", "OpsRole:deploy"] }, (m) =>
        ["root", "OpsRole:deploy"].includes(m.userName!),
      );
    });

    it.skipIf(!available)("identityTypes", async () => {
      await expectFilter({ identityTypes: ["system", "assumed-role"] }, (m) =>
        ["system", "assumed-role"].includes(m.identityType),
      );
      await expectFilter({ identityTypes: ["root-account"] }, (m) => m.identityType === "root-account");
    });

    it.skipIf(!available)("accessKeyIds", async () => {
      const keys = [WHO.aliceA.accessKeyId, WHO.carolB.accessKeyId];
      await expectFilter({ accessKeyIds: keys }, (m) => keys.includes(m.accessKeyId as never));
      await expectFilter({ accessKeyIds: [WHO.opsRole.accessKeyId] }, (m) => m.accessKeyId === WHO.opsRole.accessKeyId);
    });

    it.skipIf(!available)("sourceIpAddresses", async () => {
      await expectFilter({ sourceIpAddresses: [IP.vpn, IP.branch] }, (m) => m.ip === IP.vpn || m.ip === IP.branch);
    });

    it.skipIf(!available)("resourceTypes", async () => {
      await expectFilter({ resourceTypes: [SLB, RAM_USER] }, (m) =>
        m.resources.some((r) => r.type === SLB || r.type === RAM_USER),
      );
      // An event naming two types is returned once.
      await expectFilter({ resourceTypes: [ECS, DISK] }, (m) =>
        m.resources.some((r) => r.type === ECS || r.type === DISK),
      );
    });

    it.skipIf(!available)("resourceIds", async () => {
      const wanted = ["i-bp1aaa****", "d-bp1ddd****"];
      await expectFilter({ resourceIds: wanted }, (m) => m.resources.some((r) => wanted.includes(r.resourceId)));
    });

    it.skipIf(!available)("orderIds", async () => {
      await expectFilter({ orderIds: [O1, O4] }, (m) => m.orderIds.includes(O1) || m.orderIds.includes(O4));
      await expectFilter({ orderIds: [O2] }, (m) => m.orderIds.includes(O2));
    });

    it.skipIf(!available)("errorCodes", async () => {
      const codes = ["Forbidden.RAM", "EntityAlreadyExists.User"];
      await expectFilter({ errorCodes: codes }, (m) => codes.includes(m.errorCode!));
    });

    it.skipIf(!available)("failed: true and failed: false", async () => {
      const failed = await expectFilter({ failed: true }, (m) => m.failed);
      const succeeded = await expectFilter({ failed: false }, (m) => !m.failed);
      expect(failed.length + succeeded.length).toBe(models.length);
      // An empty errorCode is a success.
      const emptyCode = models.find((m) => SPECS[m.arrival].error === "")!;
      expect(succeeded).toContain(emptyCode.eventId);
    });

    it.skipIf(!available)("from is inclusive", async () => {
      const from = models[10].time;
      const got = await expectFilter({ from: iso(from) }, (m) => m.time >= from);
      expect(got).toContain(models[10].eventId);
      expect(got).not.toContain(models[9].eventId);
    });

    it.skipIf(!available)("to is exclusive", async () => {
      const to = models[16].time; // two events share this time
      const got = await expectFilter({ to: iso(to) }, (m) => m.time < to);
      expect(got).not.toContain(models[16].eventId);
      expect(got).not.toContain(models[17].eventId);
      expect(got).toContain(models[15].eventId);
    });

    it.skipIf(!available)("from and to together; to one millisecond after an event includes it", async () => {
      const from = models[4].time;
      const to = models[16].time + 1;
      const got = await expectFilter({ from: iso(from), to: iso(to) }, (m) => m.time >= from && m.time < to);
      expect(got).toEqual(expect.arrayContaining([models[4].eventId, models[5].eventId, models[16].eventId]));
      expect(await matching({ from: iso(from), to: iso(from) })).toEqual([]);
    });
  });

  it.skipIf(!available)("values of a list combine with OR: the union of the single values", async () => {
    const lists: Array<[string, string[]]> = [
      ["eventNames", ["StopInstance", "CancelOrder"]],
      ["userNames", ["bob", "carol"]],
      ["resourceIds", ["i-bp1ccc****", "lb-uf6xxx****"]],
      ["orderIds", [O1, O3]],
      ["regions", ["cn-shanghai", "ap-southeast-1"]],
    ];
    for (const [field, values] of lists) {
      const singles = await Promise.all(values.map((value) => matching({ [field]: [value] })));
      for (const single of singles) {
        expect(single.length, `${field}: each value matches something`).toBeGreaterThan(0);
      }
      const union = sorted(new Set(singles.flat()));
      expect(union.length).toBeGreaterThan(Math.max(...singles.map((s) => s.length)));
      expect(await matching({ [field]: values })).toEqual(union);
    }
  });

  describe("fields combine with AND", () => {
    /** Checks the combination, and that it is narrower than each of its fields alone. */
    async function expectNarrower(filter: Record<string, unknown>, predicate: Predicate): Promise<void> {
      const want = await expectFilter(filter, predicate);
      for (const [field, value] of Object.entries(filter)) {
        if (field === "to") continue; // checked with `from`
        const alone = field === "from" ? { from: value, to: filter.to } : { [field]: value };
        const wider = await matching(alone);
        expect(wider.length, `${field} alone matches more`).toBeGreaterThan(want.length);
        expect(wider).toEqual(expect.arrayContaining(want));
      }
    }

    it.skipIf(!available)("accountIds + failed + from/to", async () => {
      const from = models[2].time;
      const to = models[22].time;
      await expectNarrower(
        { accountIds: [A], failed: true, from: iso(from), to: iso(to) },
        (m) => m.accountId === A && m.failed && m.time >= from && m.time < to,
      );
    });

    it.skipIf(!available)("userNames + resourceIds", async () => {
      await expectNarrower(
        { userNames: ["alice"], resourceIds: ["i-bp1aaa****"] },
        (m) => m.userName === "alice" && m.resources.some((r) => r.resourceId === "i-bp1aaa****"),
      );
    });

    it.skipIf(!available)("eventNames + orderIds", async () => {
      await expectNarrower(
        { eventNames: ["GetOrderDetail", "CancelOrder"], orderIds: [O1] },
        (m) => ["GetOrderDetail", "CancelOrder"].includes(m.eventName) && m.orderIds.includes(O1),
      );
    });

    it.skipIf(!available)("an identity field with an event field: userNames + accountIds", async () => {
      await expectNarrower(
        { userNames: ["alice"], accountIds: [B] },
        (m) => m.userName === "alice" && m.accountId === B,
      );
    });

    it.skipIf(!available)("two identity fields: identityTypes + accessKeyIds", async () => {
      const keys = [WHO.aliceA.accessKeyId, WHO.opsRole.accessKeyId, WHO.carolB.accessKeyId];
      await expectNarrower(
        { identityTypes: ["ram-user"], accessKeyIds: keys },
        (m) => m.identityType === "ram-user" && keys.includes(m.accessKeyId as never),
      );
    });

    it.skipIf(!available)("two resource fields: resourceTypes + resourceIds", async () => {
      await expectNarrower(
        { resourceTypes: [ECS], resourceIds: ["d-bp1ddd****", "lb-uf6xxx****"] },
        (m) =>
          m.resources.some((r) => r.type === ECS) &&
          m.resources.some((r) => ["d-bp1ddd****", "lb-uf6xxx****"].includes(r.resourceId)),
      );
    });

    it.skipIf(!available)("three fields: serviceNames + eventRW + regions", async () => {
      await expectNarrower(
        { serviceNames: ["Ecs"], eventRW: ["Read"], regions: ["cn-shanghai"] },
        (m) => m.serviceName === "Ecs" && m.eventRW === "Read" && m.region === "cn-shanghai",
      );
    });

    it.skipIf(!available)("a combination that matches nothing", async () => {
      expect(models.some((m) => m.userName === "carol")).toBe(true);
      expect(models.some((m) => m.accountId === A)).toBe(true);
      expect(await matching({ userNames: ["carol"], accountIds: [A] })).toEqual([]);
      expect(await matching({ orderIds: [O3], failed: true })).toEqual([]);
    });
  });

  it.skipIf(!available)("an empty list does not filter", async () => {
    const everything = idsOf(models);
    const empty = { eventIds: [], eventNames: [], userNames: [], resourceIds: [], resourceTypes: [], orderIds: [] };
    expect(await matching(empty)).toEqual(everything);
    expect(await matching({})).toEqual(everything);
    // ... and leaves the other fields working.
    expect(await matching({ ...empty, failed: true })).toEqual(expectedSet((m) => m.failed));
  });

  it.skipIf(!available)("rejects a list of 501 values, and takes 500", async () => {
    const many = (n: number) => Array.from({ length: n }, (_, i) => `evt-${i}`);
    for (const field of ["eventIds", "userNames", "resourceIds", "orderIds"]) {
      const response = await store.graphql(FILTERED, { filter: { [field]: many(501) } });
      expectUserError(response, /500/, "events");
      expect(response.errors![0].message).toContain(field);
    }
    const nested = await store.graphql(
      `query($f: EventFilter) { account(accountId: "${A}") { events(filter: $f) { nodes { eventId } } } }`,
      { f: { eventIds: many(501) } },
    );
    expectUserError(nested, /500/, "account");
    const orders = await store.graphql(`query($f: OrderFilter) { orders(filter: $f) { nodes { orderId } } }`, {
      f: { orderIds: many(501) },
    });
    expectUserError(orders, /500/, "orders");
    const resources = await store.graphql(
      `query($f: ResourceFilter) { resources(filter: $f) { nodes { resourceId } } }`,
      { f: { types: many(501) } },
    );
    expectUserError(resources, /500/, "resources");

    const limit = [...many(499), models[0].eventId];
    expect(await matching({ eventIds: limit })).toEqual([models[0].eventId]);
  });

  describe("on nested lists", () => {
    const ACCOUNT_EVENTS = `query($a: ID!, $f: EventFilter) {
      account(accountId: $a) { events(filter: $f, first: 500) { totalCount nodes { eventId } } }
    }`;
    const ORDER_EVENTS = `query($o: ID!, $f: EventFilter) {
      order(orderId: $o) { events(filter: $f, first: 500) { totalCount nodes { eventId } } }
    }`;
    const RESOURCE_EVENTS = `query($t: String!, $r: ID!, $f: EventFilter) {
      resource(type: $t, resourceId: $r) { events(filter: $f, first: 500) { totalCount nodes { eventId } } }
    }`;

    async function nested(query: string, variables: Record<string, unknown>, pick: (data: any) => any) {
      const connection = pick(dataOf(await store.graphql(query, variables)));
      const ids = sorted(connection.nodes.map((n: any) => n.eventId as string));
      expect(connection.totalCount).toBe(ids.length);
      return ids;
    }

    it.skipIf(!available)("account.events(filter)", async () => {
      const ofA = models.filter((m) => m.accountId === A);
      const cases: Array<[Record<string, unknown>, Predicate]> = [
        [{ failed: true }, (m) => m.failed],
        [{ userNames: ["alice"] }, (m) => m.userName === "alice"],
        [{ resourceIds: ["i-bp1aaa****"] }, (m) => m.resources.some((r) => r.resourceId === "i-bp1aaa****")],
        [
          { orderIds: [O1], eventNames: ["GetOrderDetail"] },
          (m) => m.orderIds.includes(O1) && m.eventName === "GetOrderDetail",
        ],
        [
          { regions: ["cn-shanghai"], from: iso(models[5].time) },
          (m) => m.region === "cn-shanghai" && m.time >= models[5].time,
        ],
      ];
      for (const [filter, predicate] of cases) {
        const got = await nested(ACCOUNT_EVENTS, { a: A, f: filter }, (d) => d.account.events);
        expect(got, JSON.stringify(filter)).toEqual(expectedSet(predicate, ofA));
      }
      // The parent and the filter both hold: alice of account B is not in account A's list.
      const aliceOfB = models.filter((m) => m.userName === "alice" && m.accountId === B);
      expect(aliceOfB.length).toBeGreaterThan(0);
      expect(await nested(ACCOUNT_EVENTS, { a: B, f: { userNames: ["alice"] } }, (d) => d.account.events)).toEqual(
        idsOf(aliceOfB),
      );
      expect(await nested(ACCOUNT_EVENTS, { a: A, f: { accountIds: [B] } }, (d) => d.account.events)).toEqual([]);
    });

    it.skipIf(!available)("order.events(filter)", async () => {
      const ofO1 = models.filter((m) => m.orderIds.includes(O1));
      const cases: Array<[Record<string, unknown>, Predicate]> = [
        [{ userNames: ["bob"] }, (m) => m.userName === "bob"],
        [{ failed: false }, (m) => !m.failed],
        [
          { eventNames: ["GetOrderDetail", "Create"], to: iso(models[20].time) },
          (m) => ["GetOrderDetail", "Create"].includes(m.eventName) && m.time < models[20].time,
        ],
        [{ identityTypes: ["root-account"] }, (m) => m.identityType === "root-account"],
      ];
      for (const [filter, predicate] of cases) {
        const got = await nested(ORDER_EVENTS, { o: O1, f: filter }, (d) => d.order.events);
        expect(got, JSON.stringify(filter)).toEqual(expectedSet(predicate, ofO1));
      }
      // orderIds inside an order's list: only that order's events, and none for another order.
      expect(await nested(ORDER_EVENTS, { o: O1, f: { orderIds: [O1, O2] } }, (d) => d.order.events)).toEqual(
        idsOf(ofO1),
      );
      expect(await nested(ORDER_EVENTS, { o: O1, f: { orderIds: [O2] } }, (d) => d.order.events)).toEqual([]);
    });

    it.skipIf(!available)("resource.events(filter)", async () => {
      const onInstance = models.filter((m) => m.resources.some((r) => r.resourceId === "i-bp1aaa****"));
      const cases: Array<[Record<string, unknown>, Predicate]> = [
        [{ failed: true }, (m) => m.failed],
        [{ userNames: ["alice"], eventRW: ["Write"] }, (m) => m.userName === "alice" && m.eventRW === "Write"],
      ];
      for (const [filter, predicate] of cases) {
        const got = await nested(RESOURCE_EVENTS, { t: ECS, r: "i-bp1aaa****", f: filter }, (d) => d.resource.events);
        expect(got, JSON.stringify(filter)).toEqual(expectedSet(predicate, onInstance));
      }
    });
  });

  describe("orders and resources", () => {
    const ORDERS = `query($f: OrderFilter) { orders(filter: $f, first: 500) { totalCount nodes { orderId accountId createdAt } } }`;
    const RESOURCES = `query($f: ResourceFilter) { resources(filter: $f, first: 500) { totalCount nodes { type resourceId accountId } } }`;
    const orders = orderModels();
    const resources = resourceModels();

    async function orderIds(filter: Record<string, unknown>): Promise<string[]> {
      const page = dataOf(await store.graphql(ORDERS, { f: filter })).orders;
      expect(page.totalCount).toBe(page.nodes.length);
      return sorted(page.nodes.map((o: any) => o.orderId as string));
    }

    function expectedOrders(predicate: (o: OrderModel) => boolean): string[] {
      const want = orders.filter(predicate);
      expect(want.length).toBeGreaterThan(0);
      expect(want.length).toBeLessThan(orders.length);
      return sorted(want.map((o) => o.orderId));
    }

    it.skipIf(!available)("knows every order with its account and time", async () => {
      const page = dataOf(await store.graphql(ORDERS, {})).orders;
      expect(
        page.nodes
          .map((o: any) => ({ ...o, createdAt: Date.parse(o.createdAt) }))
          .sort((a: any, b: any) => (a.orderId < b.orderId ? -1 : 1)),
      ).toEqual([...orders].sort((a, b) => (a.orderId < b.orderId ? -1 : 1)));
    });

    it.skipIf(!available)("orders(filter: {from, to, accountIds})", async () => {
      const o3 = orders.find((o) => o.orderId === O3)!;
      const o6 = orders.find((o) => o.orderId === O6)!;
      const from = o3.createdAt; // inclusive
      const to = o6.createdAt; // exclusive
      const window = (o: OrderModel) => o.createdAt >= from && o.createdAt < to;
      expect(await orderIds({ from: iso(from), to: iso(to) })).toEqual(expectedOrders(window));
      expect(await orderIds({ from: iso(from), to: iso(to) })).toContain(O3);
      expect(await orderIds({ from: iso(from), to: iso(to) })).not.toContain(O6);
      expect(await orderIds({ accountIds: [A] })).toEqual(expectedOrders((o) => o.accountId === A));
      expect(await orderIds({ accountIds: [B, C] })).toEqual(expectedOrders((o) => o.accountId !== A));
      const firstOfA = Math.min(...orders.filter((o) => o.accountId === A).map((o) => o.createdAt));
      const combined = await orderIds({ from: iso(firstOfA + 1), to: iso(to), accountIds: [A, C] });
      expect(combined).toEqual(
        expectedOrders((o) => o.createdAt > firstOfA && o.createdAt < to && [A, C].includes(o.accountId)),
      );
      expect(await orderIds({ orderIds: [O2, O5, "999"], accountIds: [C] })).toEqual([O5]);
      expect(await orderIds({ accountIds: [] })).toEqual(sorted(orders.map((o) => o.orderId)));
    });

    it.skipIf(!available)("resources(filter: {types, resourceIds})", async () => {
      async function resourceKeys(filter: Record<string, unknown>): Promise<string[]> {
        const page = dataOf(await store.graphql(RESOURCES, { f: filter })).resources;
        expect(page.totalCount).toBe(page.nodes.length);
        return sorted(page.nodes.map((r: any) => `${r.type} ${r.resourceId}`));
      }
      const expectedResources = (predicate: (r: ResourceModel) => boolean) => {
        const want = resources.filter(predicate);
        expect(want.length).toBeGreaterThan(0);
        expect(want.length).toBeLessThan(resources.length);
        return sorted(want.map((r) => `${r.type} ${r.resourceId}`));
      };
      expect(await resourceKeys({ types: [SLB, DISK] })).toEqual(
        expectedResources((r) => [SLB, DISK].includes(r.type)),
      );
      const ids = ["i-bp1aaa****", "rm-t4nyyy****", "dave"];
      expect(await resourceKeys({ resourceIds: ids })).toEqual(expectedResources((r) => ids.includes(r.resourceId)));
      expect(await resourceKeys({ types: [ECS], resourceIds: ids })).toEqual(
        expectedResources((r) => r.type === ECS && ids.includes(r.resourceId)),
      );
      expect(await resourceKeys({ types: [ECS], accountIds: [B] })).toEqual(
        expectedResources((r) => r.type === ECS && r.accountId === B),
      );
      expect(await resourceKeys({ types: [], resourceIds: [] })).toHaveLength(resources.length);
    });

    it.skipIf(!available)("account.resources(type:)", async () => {
      const query = `query($a: ID!, $t: String) {
        account(accountId: $a) { resources(type: $t, first: 500) { totalCount nodes { type resourceId } } }
      }`;
      for (const [accountId, type] of [
        [A, ECS],
        [A, DISK],
        [B, SLB],
        [C, RDS],
      ]) {
        const page = dataOf(await store.graphql(query, { a: accountId, t: type })).account.resources;
        const own = resources.filter((r) => r.accountId === accountId);
        const want = own.filter((r) => r.type === type);
        expect(want.length).toBeGreaterThan(0);
        expect(want.length).toBeLessThan(own.length);
        // In first-seen order.
        expect(page.nodes).toEqual(want.map((r) => ({ type: r.type, resourceId: r.resourceId })));
        expect(page.totalCount).toBe(want.length);
      }
      const all = dataOf(await store.graphql(query, { a: A, t: null })).account.resources;
      expect(all.nodes.map((r: any) => r.resourceId)).toEqual(
        resources.filter((r) => r.accountId === A).map((r) => r.resourceId),
      );
    });
  });
});
