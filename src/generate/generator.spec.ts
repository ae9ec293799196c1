import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, sep } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { findEventDefinition } from "../catalog";
import { normalizeEvent, type NormalizedEvent } from "../ingest/normalize";
import { UsageError } from "../usage-error";
import { GENERATE_USAGE, generateCommand } from "./command";
import { generateEvents, resourceDirectoryId, type GeneratedEvent } from "./generator";
import { WINDOW_SECONDS, writeGenerated } from "./oss-writer";
import { Random } from "./random";

const ISO_SECOND = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function take(options: Parameters<typeof generateEvents>[0]): GeneratedEvent[] {
  return [...generateEvents(options)];
}

const record = (value: unknown): Record<string, unknown> => value as Record<string, unknown>;

describe("Random", () => {
  it("is deterministic per seed and stays in range", () => {
    const a = new Random(7);
    const b = new Random(7);
    const c = new Random(8);
    const seqA = Array.from({ length: 50 }, () => a.uint32());
    expect(Array.from({ length: 50 }, () => b.uint32())).toEqual(seqA);
    expect(Array.from({ length: 50 }, () => c.uint32())).not.toEqual(seqA);
    const rng = new Random(1);
    for (let i = 0; i < 2000; i++) {
      const n = rng.int(3, 9);
      expect(n).toBeGreaterThanOrEqual(3);
      expect(n).toBeLessThanOrEqual(9);
      expect(rng.next()).toBeLessThan(1);
    }
    expect(rng.hex(24)).toMatch(/^[0-9a-f]{24}$/);
    expect(rng.uuid()).toMatch(UUID);
    expect(rng.digits(12)).toMatch(/^[1-9]\d{11}$/);
  });

  it("skews: the first of ten items takes far more than a tenth of skewed picks", () => {
    const rng = new Random(3);
    let first = 0;
    for (let i = 0; i < 10_000; i++) if (rng.skewed(10, 3) === 0) first++;
    expect(first / 10_000).toBeGreaterThan(0.3);
  });
});

describe("generateEvents: determinism, count, order", () => {
  it("gives byte-identical JSON for the same options and different events for another seed", () => {
    const options = { events: 3000, accounts: 6, seed: 11 };
    const first = JSON.stringify(take(options));
    expect(JSON.stringify(take(options))).toBe(first);
    expect(JSON.stringify(take({ ...options, seed: 12 }))).not.toBe(first);
  });

  it("yields exactly the number asked for", () => {
    for (const events of [0, 1, 2, 7, 333, 5000]) {
      expect(take({ events, accounts: 3, seed: events })).toHaveLength(events);
    }
  });

  it("yields ascending second-precision UTC times inside the period", () => {
    const events = take({ events: 5000, accounts: 4, seed: 5, start: new Date("2025-03-01T00:00:00Z"), days: 30 });
    let previous = "";
    for (const event of events) {
      const time = event.eventTime as string;
      expect(time).toMatch(ISO_SECOND);
      expect(time >= previous).toBe(true);
      previous = time;
    }
    expect((events[0].eventTime as string) >= "2025-03-01T00:00:00Z").toBe(true);
    expect(previous < "2025-03-31T00:00:00Z").toBe(true);
    // Spread over the whole period, not bunched at its start.
    expect(previous > "2025-03-29T00:00:00Z").toBe(true);
  });

  it("rejects bad options", () => {
    expect(() => take({ events: -1, accounts: 1, seed: 1 })).toThrow(/events/);
    expect(() => take({ events: 1, accounts: 0, seed: 1 })).toThrow(/accounts/);
    expect(() => take({ events: 1, accounts: 1, seed: 1.5 })).toThrow(/seed/);
    expect(() => take({ events: 1, accounts: 1, seed: 1, days: 0 })).toThrow(/days/);
  });
});

describe("generateEvents: 20,000 events of 10 accounts", () => {
  const ACCOUNTS = 10;
  let events: GeneratedEvent[] = [];
  let normalized: NormalizedEvent[] = [];

  beforeAll(() => {
    events = take({ events: 20_000, accounts: ACCOUNTS, seed: 2025 });
    normalized = events.map((event) => normalizeEvent(event));
  });

  const named = (name: string) => events.filter((event) => event.eventName === name);

  it("are all accepted by normalizeEvent, with unique event IDs", () => {
    expect(normalized).toHaveLength(20_000);
    expect(new Set(normalized.map((event) => event.eventId)).size).toBe(20_000);
    expect(normalized.every((event) => event.accountId !== null)).toBe(true);
  });

  it("include buy-page purchases with their order-keyed objects", () => {
    const purchases = named("Create");
    expect(purchases.length).toBeGreaterThan(100);
    for (const purchase of purchases) {
      expect(purchase.eventType).toBe("ConsoleOperation");
      expect(purchase.userAgent).toBe("AliyunConsole");
      expect(purchase.eventSource).toMatch(/^[a-z-]+\.aliyuncs\.com$/);
      const additional = record(purchase.additionalEventData);
      const orderIds = String(additional.orderIds).split(",");
      for (const orderId of orderIds) {
        expect(orderId).toMatch(/^\d{12,15}$/);
        const entry = record(additional[orderId]);
        expect(typeof entry.resourceId).toBe("string");
        expect(Object.keys(record(entry.articleConfig)).length).toBeGreaterThan(3);
      }
    }
    const ecs = purchases.find((purchase) => purchase.serviceName === "Ecs");
    const config = record(
      record(record(ecs?.additionalEventData)[String(record(ecs?.additionalEventData).orderIds).split(",")[0]])
        .articleConfig,
    );
    expect(config).toHaveProperty("vm_cpu");
    expect(config).toHaveProperty("vm_ram");
    expect(config).toHaveProperty("instance_type");
    const rds = purchases.find((purchase) => purchase.serviceName === "Rds");
    const rdsAdditional = record(rds?.additionalEventData);
    const rdsConfig = record(record(rdsAdditional[String(rdsAdditional.orderIds)]).articleConfig);
    expect(Object.keys(rdsConfig)).toEqual(expect.arrayContaining(["engine", "engine_version", "db_instance_class"]));
    const normalizedPurchases = normalized.filter((event) => event.eventName === "Create");
    expect(
      normalizedPurchases.every(
        (event) => event.orders.length > 0 && event.orders.every((order) => order.isPurchase && order.items.length > 0),
      ),
    ).toBe(true);
  });

  it("include auto-renewals by the system identity, owned through recipientAccountId", () => {
    const renewals = events.filter((event) => event.eventName === "Renew");
    expect(renewals.length).toBeGreaterThan(50);
    for (const renewal of renewals) {
      expect(renewal.userIdentity).toEqual({ type: "system" });
      expect(renewal.eventType).toBe("AliyunServiceEvent");
      expect(renewal.userAgent).toBe("usercenter2.aliyun.com/renew/auto");
      expect(renewal.recipientAccountId).toMatch(/^\d{12}\*{4}$/);
      const additional = record(renewal.additionalEventData);
      expect(additional).not.toHaveProperty("orderIds");
      const keys = Object.keys(additional);
      expect(keys).toHaveLength(1);
      expect(keys[0]).toMatch(/^\d{12,15}$/);
      expect(record(additional[keys[0]])).toHaveProperty("articleConfig");
    }
    const normalizedRenewals = normalized.filter((event) => event.eventName === "Renew");
    for (const renewal of normalizedRenewals) {
      expect(renewal.accountId).toBe(renewal.recipientAccountId);
      expect(renewal.orders).toHaveLength(1);
      expect(renewal.orders[0].isPurchase).toBe(false);
      expect(renewal.orders[0].items).toHaveLength(1);
    }
  });

  it("renew only instances bought earlier in the stream, with new and unique order IDs", () => {
    const bought = new Set<string>();
    const orderIds = new Set<string>();
    let checked = 0;
    for (let i = 0; i < events.length; i++) {
      const event = events[i];
      const name = event.eventName as string;
      const additional = event.additionalEventData ? record(event.additionalEventData) : null;
      if (additional && ["Create", "Renew", "Modify", "Refund"].includes(name)) {
        for (const key of Object.keys(additional).filter((key) => /^\d+$/.test(key))) {
          expect(orderIds.has(key)).toBe(false);
          orderIds.add(key);
        }
      }
      if (name === "Create") {
        for (const item of normalized[i].orders.flatMap((order) => order.items)) bought.add(item.resourceId);
      } else if (name === "CreateInstance" && !event.errorCode) {
        bought.add(record(record(event.responseElements).Data).InstanceId as string);
      } else if (name === "Renew" || (name === "RenewInstance" && !event.errorCode)) {
        const instanceId =
          name === "Renew"
            ? (Object.values(additional as Record<string, { resourceId: string }>)[0].resourceId as string)
            : (record(event.requestParameters).InstanceId as string);
        expect(bought.has(instanceId), `${name} of ${instanceId} at ${event.eventTime}`).toBe(true);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(50);
  });

  it("include Modify and Refund console operations naming new orders", () => {
    for (const name of ["Modify", "Refund"]) {
      const found = named(name);
      expect(found.length, name).toBeGreaterThan(5);
      for (const event of found) {
        expect(event.eventType).toBe("ConsoleOperation");
        expect(record(event.additionalEventData).orderIds).toMatch(/^\d{12,15}$/);
      }
    }
  });

  it("name Expenses and Costs operations from the catalog, reads being the majority", () => {
    const bss = events.filter((event) => event.serviceName === "BssOpenApi");
    expect(bss.length).toBeGreaterThan(8000);
    let reads = 0;
    for (const event of bss) {
      const definition = findEventDefinition(event.eventName as string);
      expect(definition, event.eventName as string).toBeDefined();
      expect(event.eventRW).toBe(definition?.access === "WRITE" ? "Write" : "Read");
      expect(event.eventSource).toBe("business.aliyuncs.com");
      expect(event.apiVersion).toBe("2017-12-14");
      expect(event.eventType).toBe("ApiCall");
      if (event.eventRW === "Read") reads++;
    }
    expect(reads / bss.length).toBeGreaterThan(0.7);
    expect(new Set(bss.map((event) => event.eventName)).size).toBeGreaterThan(40);
    const created = named("CreateInstance").filter((event) => !event.errorCode);
    expect(created.length).toBeGreaterThan(10);
    for (const event of created) {
      const response = record(event.responseElements);
      expect(response).toMatchObject({ Code: "Success", Success: true });
      expect(record(response.Data).OrderId).toMatch(/^\d{12,15}$/);
      expect(record(event.requestParameters).ProductCode).toBeTruthy();
    }
    const cancelled = named("CancelOrder");
    expect(cancelled.length).toBeGreaterThan(0);
    expect(named("SetRenewal").every((event) => typeof record(event.requestParameters).InstanceIDs === "string")).toBe(
      true,
    );
    expect(
      named("QueryBill").some((event) => /^\d{4}-\d{2}$/.test(record(event.requestParameters).BillingCycle as string)),
    ).toBe(true);
  });

  it("include sign-ins, RAM and ECS calls", () => {
    const signins = named("ConsoleSignin");
    expect(signins.length).toBeGreaterThan(200);
    for (const signin of signins) {
      expect(signin.eventId).toMatch(/^1\.167_\d{13}_\d{4}$/);
      expect(signin.serviceName).toBe("AasSub");
      expect(record(signin.additionalEventData)).toHaveProperty("MFAUsed");
    }
    expect(events.filter((event) => event.serviceName === "Ram").length).toBeGreaterThan(100);
    const stops = named("StopInstance");
    expect(stops.length).toBeGreaterThan(10);
    expect(stops.every((event) => record(event.requestParameters).InstanceId)).toBe(true);
  });

  it("fail about 2% of the time, with real-looking codes; errorCode is '' or absent on success", () => {
    const failed = normalized.filter((event) => event.failed);
    const share = failed.length / normalized.length;
    expect(share).toBeGreaterThan(0.01);
    expect(share).toBeLessThan(0.035);
    const codes = new Set(failed.map((event) => event.errorCode));
    for (const code of ["Forbidden.RAM", "InvalidParameter", "Throttling.User"])
      expect(codes.has(code), code).toBe(true);
    expect(failed.every((event) => (event.errorMessage ?? "").length > 10)).toBe(true);
    const succeeded = events.filter((event) => !event.errorCode);
    expect(succeeded.some((event) => event.errorCode === "")).toBe(true);
    expect(succeeded.some((event) => !("errorCode" in event))).toBe(true);
  });

  it("have every identity type, loose eventVersion, several regions and eventId shapes", () => {
    const types = new Set(events.map((event) => record(event.userIdentity).type));
    expect([...types].sort()).toEqual(["assumed-role", "ram-user", "root-account", "system"]);
    const role = events.find((event) => record(event.userIdentity).type === "assumed-role") as GeneratedEvent;
    const identity = record(role.userIdentity);
    expect(identity.accessKeyId).toMatch(/^STS\.[0-9A-Za-z]+$/);
    expect(identity.principalId).toMatch(/^\d+:.+$/);
    expect(identity.userName).toMatch(/^[^:]+:.+$/);
    expect(record(record(identity.sessionContext).attributes).mfaAuthenticated).toMatch(/^(true|false)$/);
    const keyed = events.find(
      (event) => record(event.userIdentity).type === "ram-user" && record(event.userIdentity).accessKeyId,
    );
    expect(record(keyed?.userIdentity).accessKeyId).toMatch(/^LTAI5t[0-9A-Za-z]{18}$/);
    expect(new Set(events.map((event) => typeof event.eventVersion))).toEqual(new Set(["number", "string"]));
    expect(new Set(events.map((event) => event.acsRegion)).size).toBeGreaterThanOrEqual(5);
    expect(events.some((event) => UUID.test(event.eventId as string))).toBe(true);
    expect(events.some((event) => /^[0-9a-f]{24}$/.test(event.eventId as string))).toBe(true);
    expect(events.every((event) => /^\d{1,3}\.\d{1,3}\.XX\.XX$/.test(event.sourceIpAddress as string))).toBe(true);
  });

  it("are skewed: the busiest account does much more than 1/M of the events", () => {
    const perAccount = new Map<string, number>();
    for (const event of normalized)
      perAccount.set(event.accountId as string, (perAccount.get(event.accountId as string) ?? 0) + 1);
    expect(perAccount.size).toBe(ACCOUNTS);
    const busiest = Math.max(...perAccount.values());
    expect(busiest / events.length).toBeGreaterThan(2 / ACCOUNTS);
  });

  it("follow a working-day rhythm in UTC+8 and quieter weekends", () => {
    const hours = new Array<number>(24).fill(0);
    const weekdays = new Array<number>(7).fill(0);
    for (const event of events) {
      const local = new Date(Date.parse(event.eventTime as string) + 8 * 3600_000);
      hours[local.getUTCHours()]++;
      weekdays[local.getUTCDay()]++;
    }
    const office = hours.slice(10, 12).reduce((a, b) => a + b, 0);
    const night = hours.slice(2, 4).reduce((a, b) => a + b, 0);
    expect(office).toBeGreaterThan(5 * night);
    const weekday = weekdays.slice(1, 6).reduce((a, b) => a + b, 0) / 5;
    const weekend = (weekdays[0] + weekdays[6]) / 2;
    expect(weekend).toBeLessThan(0.6 * weekday);
    // Many events share their second with another.
    let shared = 0;
    for (let i = 1; i < events.length; i++) if (events[i].eventTime === events[i - 1].eventTime) shared++;
    expect(shared / events.length).toBeGreaterThan(0.1);
  });
});

describe("writeGenerated", () => {
  const folders: string[] = [];
  const temp = () => {
    const folder = mkdtempSync(join(tmpdir(), "trailgraph-generate-"));
    folders.push(folder);
    return folder;
  };
  afterAll(() => {
    for (const folder of folders) rmSync(folder, { recursive: true, force: true });
  });

  const FILE_NAME = /^Actiontrail_([a-z0-9-]+)_(\d{14})_1002_(\d+)_(\d+)_([0-9a-f]{32})\.gz$/;

  function files(root: string): string[] {
    return (readdirSync(root, { recursive: true }) as string[])
      .map((path) => join(root, path))
      .filter((path) => statSync(path).isFile())
      .sort();
  }

  /** Checks one delivered file against its name and folder; returns its events. */
  function checkFile(path: string, region: string, dateFolders: string[]): GeneratedEvent[] {
    const name = path.split(sep).pop() as string;
    const match = FILE_NAME.exec(name);
    expect(match, name).not.toBeNull();
    const [, nameRegion, stamp, count, size, md5] = match as RegExpExecArray;
    expect(nameRegion).toBe(region);
    expect(dateFolders).toEqual([stamp.slice(0, 4), stamp.slice(4, 6), stamp.slice(6, 8)]);
    const compressed = readFileSync(path);
    expect(createHash("md5").update(compressed).digest("hex")).toBe(md5);
    const json = gunzipSync(compressed);
    expect(json.length).toBe(Number(size));
    const parsed = JSON.parse(json.toString("utf8")) as GeneratedEvent[];
    expect(Array.isArray(parsed)).toBe(true);
    expect(parsed).toHaveLength(Number(count));
    const windowStart = Date.UTC(
      +stamp.slice(0, 4),
      +stamp.slice(4, 6) - 1,
      +stamp.slice(6, 8),
      +stamp.slice(8, 10),
      +stamp.slice(10, 12),
      +stamp.slice(12, 14),
    );
    for (const event of parsed) {
      expect(event.acsRegion).toBe(region);
      const time = Date.parse(event.eventTime as string);
      expect(time).toBeGreaterThanOrEqual(windowStart);
      expect(time).toBeLessThan(windowStart + WINDOW_SECONDS * 1000);
    }
    return parsed;
  }

  it("writes the OSS layout: 5-minute gzip JSON arrays per region, names that tell count, size and md5", async () => {
    const out = temp();
    const summary = await writeGenerated({ events: 3000, accounts: 5, seed: 9, out, format: "oss", days: 30 });
    expect(summary.events).toBe(3000);
    const all = files(out);
    expect(all).toHaveLength(summary.files);
    expect(summary.bytes).toBe(all.reduce((sum, path) => sum + statSync(path).size, 0));
    let total = 0;
    const ids = new Set<string>();
    for (const path of all) {
      const parts = relative(out, path).split(sep);
      // AliyunLogs/Actiontrail/<region>/YYYY/MM/DD/<file>
      expect(parts.slice(0, 2)).toEqual(["AliyunLogs", "Actiontrail"]);
      expect(parts).toHaveLength(7);
      for (const event of checkFile(path, parts[2], parts.slice(3, 6))) ids.add(event.eventId as string);
      total += Number(FILE_NAME.exec(parts[6])?.[3]);
    }
    expect(total).toBe(3000);
    expect(ids.size).toBe(3000);
    // The same events as the generator yields.
    const expected = new Set(
      take({ events: 3000, accounts: 5, seed: 9, days: 30 }).map((event) => event.eventId as string),
    );
    expect([...ids].every((id) => expected.has(id))).toBe(true);
    // Deterministic to the byte: a second run writes the same names (and so the same MD5s).
    const again = temp();
    await writeGenerated({ events: 3000, accounts: 5, seed: 9, out: again, format: "oss", days: 30 });
    expect(files(again).map((path) => relative(again, path))).toEqual(all.map((path) => relative(out, path)));
  });

  it("writes the multi-account layout under <rd_id>/<accountId>/<region>/", async () => {
    const out = temp();
    const summary = await writeGenerated({
      events: 3000,
      accounts: 4,
      seed: 10,
      out,
      format: "oss",
      multiAccount: true,
      days: 30,
    });
    const all = files(out);
    expect(all).toHaveLength(summary.files);
    const accounts = new Set<string>();
    let total = 0;
    for (const path of all) {
      const parts = relative(out, path).split(sep);
      expect(parts).toHaveLength(9);
      expect(parts[2]).toBe(resourceDirectoryId(10));
      expect(parts[3]).toMatch(/^\d{12}\*{4}$/);
      accounts.add(parts[3]);
      const events = checkFile(path, parts[4], parts.slice(5, 8));
      for (const event of events) {
        const owner = record(event.userIdentity).accountId ?? event.recipientAccountId;
        expect(owner).toBe(parts[3]);
      }
      total += events.length;
    }
    expect(total).toBe(3000);
    expect(accounts.size).toBe(4);
  });

  it("writes JSON lines, one parseable event a line, splitting files past a size", async () => {
    const out = temp();
    const summary = await writeGenerated({ events: 3000, accounts: 3, seed: 4, out, format: "ndjson" });
    expect(summary).toMatchObject({ files: 1, events: 3000 });
    const text = readFileSync(join(out, "events.ndjson"), "utf8");
    expect(Buffer.byteLength(text)).toBe(summary.bytes);
    const lines = text.split("\n");
    expect(lines.pop()).toBe("");
    expect(lines).toHaveLength(3000);
    const events = lines.map((line) => JSON.parse(line) as GeneratedEvent);
    expect(JSON.stringify(events)).toBe(JSON.stringify(take({ events: 3000, accounts: 3, seed: 4 })));

    const split = temp();
    const parts = await writeGenerated({
      events: 3000,
      accounts: 3,
      seed: 4,
      out: split,
      format: "ndjson",
      maxFileBytes: 500_000,
    });
    expect(parts.files).toBeGreaterThan(2);
    const names = readdirSync(split).sort();
    expect(names).toContain("events.ndjson");
    expect(names).toContain("events-2.ndjson");
    let lineCount = 0;
    for (const name of names) {
      const content = readFileSync(join(split, name), "utf8");
      expect(Buffer.byteLength(content)).toBeLessThanOrEqual(500_000);
      lineCount += content.split("\n").filter((line) => line !== "").length;
    }
    expect(lineCount).toBe(3000);
  });
});

describe("generateCommand", () => {
  it("validates its flags, naming the bad one", async () => {
    const out = join(tmpdir(), "trailgraph-generate-never-written");
    const base = ["--accounts", "2", "--seed", "1", "--out", out];
    // A wrong flag is a usage error: the CLI prints the usage after the message.
    await expect(generateCommand(["--events", "ten", ...base])).rejects.toBeInstanceOf(UsageError);
    await expect(generateCommand(["--events", "ten", ...base])).rejects.toThrow(/--events/);
    await expect(generateCommand(["--events", "10", "--accounts", "0", "--seed", "1", "--out", out])).rejects.toThrow(
      /--accounts/,
    );
    await expect(generateCommand(["--events", "10", "--accounts", "2", "--seed", "-3", "--out", out])).rejects.toThrow(
      /--seed/,
    );
    // --out is the one flag without a default; when it is missing, only it is named.
    await expect(generateCommand([])).rejects.toThrow(/^generate needs --out <folder>$/);
    await expect(generateCommand(["--events", "10", "--accounts", "2", "--seed", "1"])).rejects.toThrow(
      /^generate needs --out <folder>$/,
    );
    await expect(generateCommand(["--out", " "])).rejects.toBeInstanceOf(UsageError);
    await expect(generateCommand(["--events", "10", ...base, "--format", "xml"])).rejects.toThrow(/--format/);
    await expect(generateCommand(["--events", "10", ...base, "--days", "0"])).rejects.toThrow(/--days/);
    await expect(generateCommand(["--events", "10", ...base, "--format", "ndjson", "--multi-account"])).rejects.toThrow(
      /--multi-account/,
    );
    await expect(generateCommand(["--events", "10", ...base, "--bogus", "1"])).rejects.toThrow(/--bogus/);
  });

  it("needs only --out: 1000 events for 5 accounts from seed 1, as its help says", async () => {
    const out = mkdtempSync(join(tmpdir(), "trailgraph-generate-defaults-"));
    const write = vi.spyOn(process.stdout, "write").mockImplementation(() => true);
    try {
      expect(await generateCommand(["--out", join(out, "defaults"), "--format", "ndjson"])).toBe(0);
      const printed = write.mock.calls.map((call) => String(call[0])).join("");
      expect(printed).toMatch(/^generated 1000 events for 5 account\(s\), seed 1, into /);
      const explicit = ["--events", "1000", "--accounts", "5", "--seed", "1", "--format", "ndjson"];
      expect(await generateCommand(["--out", join(out, "explicit"), ...explicit])).toBe(0);
      const read = (name: string) => readFileSync(join(out, name, "events.ndjson"), "utf8");
      expect(read("defaults")).toBe(read("explicit"));
    } finally {
      write.mockRestore();
      rmSync(out, { recursive: true, force: true });
    }
    expect(GENERATE_USAGE).toMatch(/^generate --out <folder> \[--events N\] \[--accounts M\] \[--seed S\]/);
    expect(GENERATE_USAGE).toContain("N events (default 1000) for M accounts (default 5)");
    expect(GENERATE_USAGE).toContain("the same seed S (default 1)");
  });

  it("writes the events and prints a one-line summary", async () => {
    const out = mkdtempSync(join(tmpdir(), "trailgraph-generate-cli-"));
    const write = vi.spyOn(process.stdout, "write").mockImplementation(() => true);
    try {
      expect(
        await generateCommand([
          "--events",
          "500",
          "--accounts",
          "2",
          "--seed",
          "3",
          "--out",
          out,
          "--format",
          "ndjson",
          "--days",
          "7",
        ]),
      ).toBe(0);
      const printed = write.mock.calls.map((call) => String(call[0])).join("");
      expect(printed).toMatch(/^generated 500 events for 2 account\(s\), seed 3, into .*\n$/);
      expect(readFileSync(join(out, "events.ndjson"), "utf8").split("\n").filter(Boolean)).toHaveLength(500);
    } finally {
      write.mockRestore();
      rmSync(out, { recursive: true, force: true });
    }
  });
});
