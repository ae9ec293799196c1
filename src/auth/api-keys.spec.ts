import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { apiKeyId, ApiKeyRing, keyMatches, newApiKey, readApiKeys, writeApiKeys } from "./api-keys";

const dir = mkdtempSync(join(tmpdir(), "trailgraph-api-keys-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("API keys", () => {
  it("are tgk_<12 hex digits>_<256 random bits>, stored as their SHA-256 only", () => {
    const { key, entry } = newApiKey({ name: "dashboard", accounts: ["151266687691****"], write: false });
    expect(key).toMatch(/^tgk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    expect(apiKeyId(key)).toBe(entry.id);
    expect(Buffer.from(key.split("_").slice(2).join("_"), "base64url")).toHaveLength(32);
    expect(entry.hash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(JSON.stringify(entry)).not.toContain(key.slice(17));
    expect(new Date(entry.created).toISOString()).toBe(entry.created);
    expect(newApiKey({ name: "other", accounts: "*", write: true }).key).not.toBe(key);
  });

  it("match their own key only", () => {
    const { key, entry } = newApiKey({ name: "a", accounts: "*", write: false });
    expect(keyMatches(entry, key)).toBe(true);
    const last = key.at(-1) === "A" ? "B" : "A";
    expect(keyMatches(entry, key.slice(0, -1) + last)).toBe(false);
    expect(keyMatches(entry, key + "A")).toBe(false);
    expect(keyMatches(entry, "")).toBe(false);
  });

  it("are not confused with other tokens", () => {
    expect(apiKeyId("eyJhbGciOiJIUzI1NiJ9.e30.sig")).toBeNull();
    expect(apiKeyId("tgk_123_abc")).toBeNull();
    expect(apiKeyId(`tgk_ABCDEF012345_${"a".repeat(43)}`)).toBeNull();
  });

  it("are written whole, readable by their owner only, and read back", () => {
    const file = join(dir, "keys.json");
    const one = newApiKey({ name: "one", accounts: ["1"], write: true }).entry;
    writeApiKeys(file, [one]);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readApiKeys(file)).toEqual([one]);
    expect(JSON.parse(readFileSync(file, "utf8")).version).toBe(1);
  });

  it("a ring sees a key added or removed once the file changes, and accepts none while the file is broken", async () => {
    const file = join(dir, "ring.json");
    const first = newApiKey({ name: "first", accounts: "*", write: false });
    writeApiKeys(file, [first.entry]);
    const errors: string[] = [];
    const ring = new ApiKeyRing(file, { checkIntervalMs: 0, onError: (message) => errors.push(message) });
    expect((await ring.find(first.key))?.name).toBe("first");
    expect(await ring.find(first.key.slice(0, -2) + "zz")).toBeNull();

    const second = newApiKey({ name: "second", accounts: ["2"], write: false });
    writeApiKeys(file, [first.entry, second.entry]);
    expect((await ring.find(second.key))?.name).toBe("second");

    writeApiKeys(file, [second.entry]); // first revoked
    expect(await ring.find(first.key)).toBeNull();
    expect((await ring.find(second.key))?.name).toBe("second");

    writeFileSync(file, "{ broken");
    expect(await ring.find(second.key)).toBeNull();
    expect(await ring.find(second.key)).toBeNull();
    expect(errors).toHaveLength(1); // said once, not at every request
    expect(errors[0]).toMatch(/is not JSON.*no API key is accepted until it is fixed/);

    writeApiKeys(file, [second.entry]);
    expect((await ring.find(second.key))?.name).toBe("second");
  });

  it("a ring looks at the file no more than once per interval", async () => {
    const file = join(dir, "interval.json");
    const key = newApiKey({ name: "k", accounts: "*", write: false });
    writeApiKeys(file, [key.entry]);
    const ring = new ApiKeyRing(file, { checkIntervalMs: 60_000 });
    writeApiKeys(file, []);
    expect(await ring.find(key.key)).not.toBeNull();
  });
});
