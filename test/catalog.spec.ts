import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, it, expect } from "vitest";
import { EVENT_CATALOG, findEventDefinition } from "../src/catalog";

// Number of entries scripts/build-catalog.ts wrote from the documentation page.
const CATALOG_SIZE = 101;

const REPO_ROOT = resolve(__dirname, "..");

describe("Expenses and Costs event catalog", () => {
  it(`has the ${CATALOG_SIZE} operations of the documentation page`, () => {
    expect(EVENT_CATALOG).toHaveLength(CATALOG_SIZE);
  });

  it("keeps the documentation's order", () => {
    expect(EVENT_CATALOG[0].eventName).toBe("AddAccountRelation");
    expect(EVENT_CATALOG[EVENT_CATALOG.length - 1].eventName).toBe("AcceptCommodityAgreement");
  });

  it("has unique, well-formed names and non-empty trimmed descriptions", () => {
    const names = EVENT_CATALOG.map((entry) => entry.eventName);
    expect(new Set(names).size).toBe(names.length);
    for (const entry of EVENT_CATALOG) {
      expect(entry.eventName).toMatch(/^[A-Z][A-Za-z0-9]+$/);
      expect(entry.description.length).toBeGreaterThan(0);
      expect(entry.description).toBe(entry.description.trim());
      expect(["READ", "WRITE"]).toContain(entry.access);
    }
  });

  it("derives access from the name prefix", () => {
    for (const entry of EVENT_CATALOG) {
      const read = /^(Query|Describe|Get|Inquiry)/.test(entry.eventName);
      expect(entry.access, entry.eventName).toBe(read ? "READ" : "WRITE");
    }
  });

  it("finds AddAccountRelation as a WRITE with its description", () => {
    expect(findEventDefinition("AddAccountRelation")).toEqual({
      eventName: "AddAccountRelation",
      description: "Creates an account linking.",
      access: "WRITE",
    });
  });

  it("finds QueryBill as a READ", () => {
    const entry = findEventDefinition("QueryBill");
    expect(entry?.access).toBe("READ");
    expect(entry?.description).toBe("Queries a user's settlement bills within a billing cycle.");
  });

  it("finds AcceptCommodityAgreement, the last entry of the page", () => {
    expect(findEventDefinition("AcceptCommodityAgreement")).toEqual({
      eventName: "AcceptCommodityAgreement",
      description: "Accepts new Terms of Service on the purchase page.",
      access: "WRITE",
    });
  });

  it("treats the price inquiry InquiryPriceRefundInstance as a READ", () => {
    expect(findEventDefinition("InquiryPriceRefundInstance")?.access).toBe("READ");
  });

  it("keeps names spelled as the documentation spells them", () => {
    expect(findEventDefinition("QueryAvaliableQuota")?.access).toBe("READ");
    expect(findEventDefinition("QueryAvailableQuota")).toBeUndefined();
  });

  it("returns undefined for events outside the catalog and for other casings", () => {
    expect(findEventDefinition("Create")).toBeUndefined();
    expect(findEventDefinition("ConsoleSignin")).toBeUndefined();
    expect(findEventDefinition("querybill")).toBeUndefined();
    expect(findEventDefinition("")).toBeUndefined();
  });
});

describe("samples/events.json", () => {
  interface SampleEvent {
    eventId: string;
    requestId: string;
    eventName: string;
    eventType: string;
    eventTime: string;
    eventRW?: string;
    serviceName?: string;
    recipientAccountId?: string;
    userIdentity: {
      type: string;
      accountId?: string;
      principalId?: string;
      userName?: string;
    };
    referencedResources?: Record<string, string[]>;
    additionalEventData?: Record<string, unknown>;
  }
  interface OrderItem {
    resourceId: string;
    articleConfig: Record<string, unknown>;
  }
  const parse = (): SampleEvent[] => JSON.parse(text) as SampleEvent[];
  const text = readFileSync(resolve(REPO_ROOT, "samples", "events.json"), "utf8");

  it("parses as a JSON array of events", () => {
    const events: unknown = JSON.parse(text);
    expect(Array.isArray(events)).toBe(true);
    expect((events as unknown[]).length).toBeGreaterThanOrEqual(50);
  });

  it("has unique eventIds", () => {
    const events = parse();
    const ids = events.map((event) => event.eventId);
    for (const id of ids) expect(typeof id).toBe("string");
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("starts with the documentation's sample purchase event", () => {
    const [first] = parse();
    expect(first.eventId).toBe("2546c4b7-6b56-403e-97d3-500d8d29****");
    expect(first.requestId).toBe("2546c4b7-6b56-403e-97d3-500d8d29339a");
    expect(first.eventName).toBe("Create");
    expect(first.eventType).toBe("ConsoleOperation");
    expect(first.eventTime).toBe("2021-08-02T06:30:17Z");
    expect(first.userIdentity).toEqual({
      accountId: "151266687691****",
      principalId: "151266687691****",
      type: "root-account",
      userName: "root",
    });
    expect(first.referencedResources).toEqual({
      "ACS::ECS::Instance": ["i-bp67acfmxazb4p****"],
    });
    expect(first.additionalEventData?.orderIds).toBe("2105464****");
    const order = first.additionalEventData?.["2105464****"] as OrderItem;
    expect(order.resourceId).toBe("i-bp67acfmxazb4p****");
    expect(order.articleConfig.vm_cpu).toBe("4");
    expect(order.articleConfig.vm_ram).toBe("16384");
    expect(Object.keys(order.articleConfig)).toHaveLength(13);
  });

  it("uses catalog names and matching eventRW for Expenses and Costs API calls", () => {
    const events = parse();
    const bss = events.filter((event) => event.serviceName === "BssOpenApi");
    expect(bss.length).toBeGreaterThan(0);
    for (const event of bss) {
      const definition = findEventDefinition(event.eventName);
      expect(definition, event.eventName).toBeDefined();
      expect(event.eventRW, event.eventName).toBe(definition!.access === "READ" ? "Read" : "Write");
    }
  });

  it("gives every system event without an accountId a recipientAccountId", () => {
    const events = parse();
    const system = events.filter((event) => event.userIdentity?.type === "system");
    expect(system.length).toBeGreaterThan(0);
    for (const event of system) {
      expect(event.userIdentity.accountId).toBeUndefined();
      expect(event.recipientAccountId).toMatch(/^\d{12}\*{4}$/);
    }
  });
});
