import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { MAX_JSON_DEPTH } from "./limits";
import { normalizeEvent, RejectedRecord, type NormalizedEvent } from "./normalize";

const samples = JSON.parse(readFileSync("samples/events.json", "utf8")) as Record<string, unknown>[];
const seed = samples[0];

/** A minimal valid event, with overrides. */
function event(fields: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    eventId: "11111111-2222-3333-4444-555555555555",
    eventTime: "2021-08-02T06:30:17Z",
    eventName: "DescribeInstances",
    userIdentity: { type: "root-account", accountId: "1000", principalId: "1000", userName: "root" },
    ...fields,
  };
}

/** The RejectedRecord that normalizing `value` throws (fails the test when it does not throw). */
function rejection(value: unknown): RejectedRecord {
  try {
    normalizeEvent(value);
  } catch (error) {
    expect(error).toBeInstanceOf(RejectedRecord);
    return error as RejectedRecord;
  }
  throw new Error(`expected ${JSON.stringify(value)} to be rejected`);
}

const sorted = (refs: NormalizedEvent["resources"]) =>
  [...refs].sort((a, b) => `${a.type} ${a.resourceId}`.localeCompare(`${b.type} ${b.resourceId}`));

describe("normalizeEvent: the seed purchase (samples/events.json[0])", () => {
  const normalized = normalizeEvent(seed);

  it("reads the order, its item and its configuration", () => {
    expect(normalized.orders).toHaveLength(1);
    const [order] = normalized.orders;
    expect(order.orderId).toBe("2105464****");
    expect(order.isPurchase).toBe(true);
    expect(order.items).toHaveLength(1);
    const [item] = order.items;
    expect(item.type).toBe("ACS::ECS::Instance");
    expect(item.resourceId).toBe("i-bp67acfmxazb4p****");
    expect(item.articleConfig).not.toBeNull();
    expect(item.articleConfig!.vm_cpu).toBe("4");
    expect(item.articleConfig!.vm_ram).toBe("16384");
  });

  it("reads the event's columns, identity and resources", () => {
    expect(normalized.eventId).toBe("2546c4b7-6b56-403e-97d3-500d8d29****");
    expect(normalized.eventTime.toISOString()).toBe("2021-08-02T06:30:17.000Z");
    expect(normalized.eventName).toBe("Create");
    expect(normalized.eventType).toBe("ConsoleOperation");
    expect(normalized.serviceName).toBe("Ecs");
    expect(normalized.eventVersion).toBe("1");
    expect(normalized.errorCode).toBeNull();
    expect(normalized.errorMessage).toBeNull();
    expect(normalized.failed).toBe(false);
    expect(normalized.accountId).toBe("151266687691****");
    expect(normalized.accountIds).toEqual(["151266687691****"]);
    expect(normalized.identity).toEqual(
      expect.objectContaining({
        type: "root-account",
        accountId: "151266687691****",
        principalId: "151266687691****",
        userName: "root",
        accessKeyId: null,
      }),
    );
    expect(normalized.identity!.identityKey).toMatch(/^[0-9a-f]{64}$/);
    expect(normalized.resources).toEqual([{ type: "ACS::ECS::Instance", resourceId: "i-bp67acfmxazb4p****" }]);
    expect(normalized.payload.raw).toEqual(seed);
    expect(normalized.payload.additionalEventData).toEqual(seed.additionalEventData);
  });
});

describe("normalizeEvent: loose types", () => {
  it("turns a numeric eventVersion into a string", () => {
    expect(normalizeEvent(event({ eventVersion: 1 })).eventVersion).toBe("1");
    expect(normalizeEvent(event({ eventVersion: "1" })).eventVersion).toBe("1");
  });

  it('reads errorCode "" or missing as no error, and a code as a failure', () => {
    const empty = normalizeEvent(event({ errorCode: "", errorMessage: "" }));
    expect(empty.errorCode).toBeNull();
    expect(empty.errorMessage).toBeNull();
    expect(empty.failed).toBe(false);

    const missing = normalizeEvent(event());
    expect(missing.errorCode).toBeNull();
    expect(missing.failed).toBe(false);

    const failed = normalizeEvent(event({ errorCode: "Forbidden.RAM", errorMessage: "User not authorized" }));
    expect(failed.errorCode).toBe("Forbidden.RAM");
    expect(failed.errorMessage).toBe("User not authorized");
    expect(failed.failed).toBe(true);
  });

  it('reads isGlobal "true" / "false" strings as booleans', () => {
    expect(normalizeEvent(event({ isGlobal: "true" })).isGlobal).toBe(true);
    expect(normalizeEvent(event({ isGlobal: "false" })).isGlobal).toBe(false);
    expect(normalizeEvent(event({ isGlobal: true })).isGlobal).toBe(true);
    expect(normalizeEvent(event()).isGlobal).toBeNull();
  });

  it("reads eventAttributes.SensitiveAction", () => {
    expect(normalizeEvent(event({ eventAttributes: { SensitiveAction: "true" } })).sensitiveAction).toBe(true);
    expect(normalizeEvent(event({ eventAttributes: { SensitiveAction: false } })).sensitiveAction).toBe(false);
    expect(normalizeEvent(event()).sensitiveAction).toBeNull();
  });

  it("reads sessionContext creationDate and mfaAuthenticated strings as a Date and a boolean", () => {
    const role = normalizeEvent(
      event({
        userIdentity: {
          type: "assumed-role",
          accountId: "1000",
          principalId: "3001:ops-session",
          userName: "ops-role:ops-session",
          accessKeyId: "STS.NUxxxx",
          sessionContext: { attributes: { creationDate: "2021-08-10T02:00:00Z", mfaAuthenticated: "true" } },
        },
      }),
    );
    expect(role.sessionCreatedAt).toBeInstanceOf(Date);
    expect(role.sessionCreatedAt!.toISOString()).toBe("2021-08-10T02:00:00.000Z");
    expect(role.mfaAuthenticated).toBe(true);
    expect(role.identity).toEqual(
      expect.objectContaining({ type: "assumed-role", principalId: "3001:ops-session", accessKeyId: "STS.NUxxxx" }),
    );

    const noMfa = normalizeEvent(
      event({
        userIdentity: {
          type: "assumed-role",
          accountId: "1000",
          sessionContext: { attributes: { creationDate: "2021-08-10T02:00:00Z", mfaAuthenticated: "false" } },
        },
      }),
    );
    expect(noMfa.mfaAuthenticated).toBe(false);

    const none = normalizeEvent(event());
    expect(none.sessionCreatedAt).toBeNull();
    expect(none.mfaAuthenticated).toBeNull();
  });

  it("keeps unknown extra fields in payload.raw", () => {
    const input = event({ someNewField: { nested: [1, "two"] }, anotherOne: 42 });
    const normalized = normalizeEvent(input);
    expect(normalized.payload.raw.someNewField).toEqual({ nested: [1, "two"] });
    expect(normalized.payload.raw.anotherOne).toBe(42);
    expect(normalized.payload.raw).toEqual(input);
  });
});

describe("normalizeEvent: the owning account", () => {
  const system = { type: "system" };

  it("takes the identity's accountId when present", () => {
    const normalized = normalizeEvent(event({ recipientAccountId: "2000" }), { defaultAccountId: "3000" });
    expect(normalized.accountId).toBe("1000");
    expect(normalized.recipientAccountId).toBe("2000");
    expect(normalized.accountIds.sort()).toEqual(["1000", "2000"]);
  });

  it("takes recipientAccountId for a system identity with no accountId", () => {
    const normalized = normalizeEvent(event({ userIdentity: system, recipientAccountId: "2000" }), {
      defaultAccountId: "3000",
    });
    expect(normalized.accountId).toBe("2000");
    expect(normalized.identity).toEqual(expect.objectContaining({ type: "system", accountId: null }));
    expect(normalized.accountIds).toEqual(["2000"]);
  });

  it("takes the defaultAccountId option when the event names no account", () => {
    const normalized = normalizeEvent(event({ userIdentity: system }), { defaultAccountId: "3000" });
    expect(normalized.accountId).toBe("3000");
    expect(normalized.accountIds).toEqual(["3000"]);
  });

  it("still returns the event, with no owner, when nothing names an account", () => {
    const normalized = normalizeEvent(event({ userIdentity: system }));
    expect(normalized.eventId).toBe("11111111-2222-3333-4444-555555555555");
    expect(normalized.accountId).toBeNull();
    expect(normalized.accountIds).toEqual([]);
    expect(normalized.identity).toEqual(expect.objectContaining({ type: "system", accountId: null }));
    expect(normalizeEvent(event({ userIdentity: system }), { defaultAccountId: "  " }).accountId).toBeNull();
  });
});

describe("normalizeEvent: orders", () => {
  it("reads an auto-renewal's order-keyed object without orderIds, as not a purchase", () => {
    const renewal = samples[61];
    expect(renewal.eventName).toBe("Renew");
    expect((renewal.additionalEventData as Record<string, unknown>).orderIds).toBeUndefined();
    const normalized = normalizeEvent(renewal);
    expect(normalized.orders).toEqual([
      {
        orderId: "2106895****",
        isPurchase: false,
        items: [
          {
            type: "ACS::RDS::DBInstance",
            resourceId: "rm-bp1x7k2c9q4n8w5e****",
            articleConfig: expect.objectContaining({ engine: "MySQL", db_instance_storage: "200" }),
          },
        ],
      },
    ]);
    expect(normalized.accountId).toBe("151266687691****");
  });

  it("reads an auto-renewal built by hand: order-keyed object only", () => {
    const normalized = normalizeEvent(
      event({
        eventName: "Renew",
        eventType: "AliyunServiceEvent",
        userIdentity: { type: "system" },
        userAgent: "usercenter2.aliyun.com/renew/auto",
        serviceName: "Ecs",
        additionalEventData: { "777": { resourceId: "i-renewed", articleConfig: { vm_cpu: "2" } } },
      }),
    );
    expect(normalized.orders).toEqual([
      {
        orderId: "777",
        isPurchase: false,
        items: [{ type: "ACS::ECS::Instance", resourceId: "i-renewed", articleConfig: { vm_cpu: "2" } }],
      },
    ]);
    expect(normalized.resources).toEqual([{ type: "ACS::ECS::Instance", resourceId: "i-renewed" }]);
  });

  it("reads a BSS RenewInstance: order from the response, instance from the request", () => {
    const normalized = normalizeEvent(
      event({
        eventName: "RenewInstance",
        serviceName: "BssOpenApi",
        eventSource: "business.aliyuncs.com",
        requestParameters: { ProductCode: "ecs", InstanceId: "i-x" },
        responseElements: { Data: { OrderId: "123" } },
      }),
    );
    expect(normalized.orders).toEqual([
      {
        orderId: "123",
        isPurchase: false,
        items: [{ type: "ACS::ECS::Instance", resourceId: "i-x", articleConfig: null }],
      },
    ]);
    expect(normalized.resources).toEqual([{ type: "ACS::ECS::Instance", resourceId: "i-x" }]);
  });

  it("reads a BSS CreateInstance for rds as a purchase of an RDS instance", () => {
    const normalized = normalizeEvent(
      event({
        eventName: "CreateInstance",
        serviceName: "BssOpenApi",
        requestParameters: { ProductCode: "rds", SubscriptionType: "Subscription", Period: 1 },
        responseElements: { Data: { OrderId: "456", InstanceId: "rm-bp1abc" } },
      }),
    );
    expect(normalized.orders).toEqual([
      {
        orderId: "456",
        isPurchase: true,
        items: [{ type: "ACS::RDS::DBInstance", resourceId: "rm-bp1abc", articleConfig: null }],
      },
    ]);
    expect(normalized.resources).toEqual([{ type: "ACS::RDS::DBInstance", resourceId: "rm-bp1abc" }]);
  });

  it("reads a numeric OrderId of CancelOrder as a string", () => {
    const normalized = normalizeEvent(
      event({ eventName: "CancelOrder", requestParameters: { OrderId: 210619812345 } }),
    );
    expect(normalized.orders).toEqual([{ orderId: "210619812345", isPurchase: false, items: [] }]);
    expect(normalized.resources).toEqual([]);
  });

  it('reads orderIds "1,2" as two orders', () => {
    const normalized = normalizeEvent(
      event({ eventName: "Create", eventType: "ConsoleOperation", additionalEventData: { orderIds: "1,2" } }),
    );
    expect(normalized.orders).toEqual([
      { orderId: "1", isPurchase: true, items: [] },
      { orderId: "2", isPurchase: true, items: [] },
    ]);
  });

  it("reads an event that names no order as having none", () => {
    expect(normalizeEvent(event()).orders).toEqual([]);
    expect(normalizeEvent(samples[1]).orders).toEqual([]);
  });
});

describe("normalizeEvent: resources and payload parts", () => {
  it("reads delimited resourceType / resourceName strings", () => {
    const normalized = normalizeEvent(
      event({ resourceType: "ACS::ECS::Instance;ACS::ECS::SecurityGroup", resourceName: "i-a,i-b;sg-c" }),
    );
    expect(sorted(normalized.resources)).toEqual([
      { type: "ACS::ECS::Instance", resourceId: "i-a" },
      { type: "ACS::ECS::Instance", resourceId: "i-b" },
      { type: "ACS::ECS::SecurityGroup", resourceId: "sg-c" },
    ]);
  });

  it("merges referencedResources with the delimited strings, without duplicates", () => {
    const normalized = normalizeEvent(
      event({
        referencedResources: { "ACS::ECS::Instance": ["i-a"], "ACS::VPC::VPC": ["vpc-1"] },
        resourceType: "ACS::ECS::Instance",
        resourceName: "i-a",
      }),
    );
    expect(sorted(normalized.resources)).toEqual([
      { type: "ACS::ECS::Instance", resourceId: "i-a" },
      { type: "ACS::VPC::VPC", resourceId: "vpc-1" },
    ]);
  });

  it("parses requestParameterJson when requestParameters is absent", () => {
    const normalized = normalizeEvent(
      event({ requestParameterJson: '{"RegionId":"cn-hangzhou","InstanceId":"i-json"}' }),
    );
    expect(normalized.payload.requestParameters).toEqual({ RegionId: "cn-hangzhou", InstanceId: "i-json" });
    // What is parsed is also read for references.
    expect(normalized.resources).toEqual([{ type: "ACS::ECS::Instance", resourceId: "i-json" }]);
  });

  it("prefers requestParameters over requestParameterJson", () => {
    const normalized = normalizeEvent(
      event({ requestParameters: { RegionId: "a" }, requestParameterJson: '{"RegionId":"b"}' }),
    );
    expect(normalized.payload.requestParameters).toEqual({ RegionId: "a" });
  });
});

describe("normalizeEvent: eventTime", () => {
  const at = (eventTime: unknown) => normalizeEvent(event({ eventTime })).eventTime.toISOString();

  it("reads an ISO time with a zone", () => {
    expect(at("2021-08-02T06:30:17Z")).toBe("2021-08-02T06:30:17.000Z");
    expect(at("2021-08-02T14:30:17+08:00")).toBe("2021-08-02T06:30:17.000Z");
  });

  it("reads leap days, offsets without a colon and long fractions", () => {
    expect(at("2024-02-29T12:00:00Z")).toBe("2024-02-29T12:00:00.000Z");
    expect(at("2021-08-02T14:30:17+0800")).toBe("2021-08-02T06:30:17.000Z");
    expect(at("2021-08-02T06:30:17.123999Z")).toBe("2021-08-02T06:30:17.123Z");
  });

  it("treats a time without a zone as UTC", () => {
    expect(at("2021-08-02T06:30:17")).toBe("2021-08-02T06:30:17.000Z");
    expect(at("2021-08-02 06:30:17")).toBe("2021-08-02T06:30:17.000Z");
    expect(at("2021-08-02 06:30:17.250")).toBe("2021-08-02T06:30:17.250Z");
  });

  it.each([
    ["epoch seconds as a number", 1627885817, /must be a JSON string in ISO 8601, got a number/],
    ["epoch milliseconds as a number", 1627885817123, /must be a JSON string in ISO 8601, got a number/],
    ["epoch seconds as digits", "1627885817", /is not an ISO 8601 time/],
    ["a boolean", true, /must be a JSON string in ISO 8601, got a boolean/],
    ["an object", { at: "2021-08-02T06:30:17Z" }, /must be a JSON string in ISO 8601, got an object/],
    ["a date a parser would guess at", "Aug 2 2021 06:30:17", /is not an ISO 8601 time/],
    ["a time before 1970", "1969-12-31T23:59:59Z", /is not an ISO 8601 time/],
    ["a day February does not have", "2021-02-29T00:00:00Z", /is not an ISO 8601 time/],
    ["the 30th of February", "2024-02-30T00:00:00Z", /is not an ISO 8601 time/],
    ["hour 24", "2021-08-02T24:00:00Z", /is not an ISO 8601 time/],
    ["a trailing NUL", "2021-08-02T06:30:17Z\u0000", /is not an ISO 8601 time/],
    ["a date alone", "2021-08-02", /is not an ISO 8601 time/],
  ])("rejects %s: the time of an event is never a guess", (_label, eventTime, reason) => {
    expect(() => normalizeEvent(event({ eventTime }))).toThrow(reason);
  });
});

describe("normalizeEvent: eventId formats", () => {
  it.each([
    ["a UUID", "2546c4b7-6b56-403e-97d3-500d8d29339a"],
    ["24 hex digits", "a0c85e27ba2e9613333fac3c"],
    ["a sign-in ID", "1.167_1627549154939_1234"],
    ["128 characters", "e".repeat(128)],
  ])("accepts %s", (_label, eventId) => {
    expect(normalizeEvent(event({ eventId })).eventId).toBe(eventId);
  });

  it("keeps an eventId exactly: case, accents and surrounding spaces are part of it", () => {
    for (const eventId of ["Ab-1", "ab-1", "ab-1 ", " ab-1", "e\u0301", "\u00e9", "ab\u0000"]) {
      expect(normalizeEvent(event({ eventId })).eventId).toBe(eventId);
    }
  });

  it.each([
    ["a number", 12345, /eventId must be a JSON string, got a number/],
    ["a boolean", true, /eventId must be a JSON string, got a boolean/],
    ["an object", { id: "x" }, /eventId must be a JSON string, got an object/],
    ["an array", ["x"], /eventId must be a JSON string, got an array/],
    ["blank", "   ", /eventId is blank/],
    ["a lone surrogate", "ab\ud800", /eventId holds a lone UTF-16 surrogate \(\\ud800 at character 2\)/],
  ])("rejects an eventId that is %s instead of coercing it", (_label, eventId, reason) => {
    expect(() => normalizeEvent(event({ eventId }))).toThrow(reason);
  });
});

describe("normalizeEvent: whole values", () => {
  const nested = (levels: number): unknown => {
    let value: unknown = {};
    for (let level = 1; level < levels; level++) value = [value];
    return value;
  };

  it("accepts nesting of exactly MAX_JSON_DEPTH levels and rejects one more", () => {
    // The event is level 1, so its field holds MAX_JSON_DEPTH - 1 levels.
    const deepest = normalizeEvent(event({ requestParameters: nested(MAX_JSON_DEPTH - 1) }));
    expect(JSON.parse(deepest.payload.rawText)).toEqual(deepest.payload.raw);
    expect(() => normalizeEvent(event({ requestParameters: nested(MAX_JSON_DEPTH) }))).toThrow(
      `nested more than ${MAX_JSON_DEPTH} levels deep`,
    );
  });

  it("rejects 50,000 levels without overflowing the stack", () => {
    expect(() => normalizeEvent(event({ requestParameters: nested(50_000) }))).toThrow(/nested more than/);
  });

  it("rejects a number JSON.parse read as Infinity, naming where it is", () => {
    const value = JSON.parse(
      '{"eventId":"x","eventTime":"2021-08-02T06:30:17Z","requestParameters":{"Size":[1,1e400]}}',
    );
    expect(() => normalizeEvent(value)).toThrow(
      "a number at requestParameters.Size[1] is beyond the range of a double",
    );
  });

  it("rejects a typed field holding a lone surrogate, and keeps one in an untyped part of raw", () => {
    expect(() => normalizeEvent(event({ eventName: "Run\udc00" }))).toThrow(/eventName holds a lone UTF-16 surrogate/);
    expect(() => normalizeEvent(event({ userIdentity: { type: "ram-user", userName: "\ud83d" } }))).toThrow(
      /userIdentity.userName holds a lone UTF-16 surrogate/,
    );
    const kept = normalizeEvent(event({ requestParameters: { Note: "\ud800" } }));
    expect(JSON.parse(kept.payload.rawText).requestParameters.Note).toBe("\ud800");
  });

  it("keeps a user agent and an error message of any length whole", () => {
    const userAgent = "Mozilla/5.0 ".repeat(2_000);
    const errorMessage = "x".repeat(100_000);
    const normalized = normalizeEvent(event({ userAgent, errorCode: "Boom", errorMessage }));
    expect(normalized.userAgent).toBe(userAgent);
    expect(normalized.errorMessage).toBe(errorMessage);
  });
});

describe("normalizeEvent: rejections", () => {
  it.each([
    ["an array", [event()], /JSON object.*array/],
    ["a string", "not an event", /JSON object.*string/],
    ["null", null, /JSON object.*null/],
    ["a number", 42, /JSON object.*number/],
  ])("rejects %s as not an object", (_label, value, reason) => {
    expect(rejection(value).reason).toMatch(reason);
  });

  it("rejects a record with no eventId", () => {
    const { eventId: _omitted, ...withoutId } = event();
    expect(rejection(withoutId).reason).toMatch(/eventId/);
    expect(rejection(event({ eventId: "" })).reason).toMatch(/eventId/);
    expect(rejection(event({ eventId: { id: "x" } })).reason).toMatch(/eventId/);
  });

  it("rejects an eventId longer than 128 characters, saying so", () => {
    const reason = rejection(event({ eventId: "e".repeat(129) })).reason;
    expect(reason).toMatch(/eventId/);
    expect(reason).toMatch(/129/);
    expect(reason).toMatch(/128/);
  });

  it("rejects an unparseable eventTime, quoting it", () => {
    const reason = rejection(event({ eventTime: "yesterday" })).reason;
    expect(reason).toMatch(/eventTime/);
    expect(reason).toContain("yesterday");
    expect(rejection(event({ eventTime: { at: 1 } })).reason).toMatch(/eventTime/);
  });

  it("rejects a missing eventTime", () => {
    const { eventTime: _omitted, ...withoutTime } = event();
    expect(rejection(withoutTime).reason).toMatch(/no eventTime/);
    expect(rejection(event({ eventTime: "" })).reason).toMatch(/eventTime/);
  });

  it("rejects a record whose order ID is too long to store", () => {
    const reason = rejection(event({ requestParameters: { OrderId: "9".repeat(65) } })).reason;
    expect(reason).toMatch(/order ID/);
  });

  it("accepts every sample event", () => {
    for (const sample of samples) expect(() => normalizeEvent(sample)).not.toThrow();
  });
});
