import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { authenticationOn, authSettings, isLoopback, SettingsError } from "./settings";

const SECRET = "0123456789abcdef0123456789abcdef"; // 32 bytes
const dir = mkdtempSync(join(tmpdir(), "trailgraph-settings-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === "string" ? content : JSON.stringify(content));
  return path;
}

/** The SettingsError message for an environment (fails when it does not throw one). */
function refusal(env: NodeJS.ProcessEnv, flags: { open?: boolean } = {}): string {
  try {
    authSettings(env, flags);
  } catch (error) {
    expect(error).toBeInstanceOf(SettingsError);
    return (error as Error).message;
  }
  throw new Error(`accepted ${JSON.stringify(env)}`);
}

describe("access control settings", () => {
  it("nothing set: open, with JWT and API keys off", () => {
    const settings = authSettings({});
    expect(settings).toEqual({ jwt: null, apiKeysFile: null, open: false });
    expect(authenticationOn(settings)).toBe(false);
  });

  it("an HS256 secret with its defaults: accounts claim, write claim, 30 s of clock tolerance", () => {
    const settings = authSettings({ TRAILGRAPH_JWT_SECRET: SECRET });
    expect(authenticationOn(settings)).toBe(true);
    expect(settings.jwt).toMatchObject({
      issuer: null,
      audience: null,
      accountsClaim: "accounts",
      writeClaim: "trailgraph:write",
      clockTolerance: 30,
      jwksUrl: null,
      jwks: null,
    });
    expect(Buffer.from(settings.jwt!.secret!).toString()).toBe(SECRET);
  });

  it("refuses a secret shorter than 32 bytes, naming the variable", () => {
    expect(refusal({ TRAILGRAPH_JWT_SECRET: SECRET.slice(1) })).toMatch(/^TRAILGRAPH_JWT_SECRET is 31 bytes long/);
  });

  it("refuses a JWKS URL that is not https, unless its host is a loopback address", () => {
    expect(refusal({ TRAILGRAPH_JWKS_URL: "http://keys.example.com/jwks.json" })).toMatch(
      /^TRAILGRAPH_JWKS_URL .* must be an https URL/,
    );
    expect(refusal({ TRAILGRAPH_JWKS_URL: "not a url" })).toMatch(/^TRAILGRAPH_JWKS_URL 'not a url' is not a URL/);
    expect(authSettings({ TRAILGRAPH_JWKS_URL: "https://keys.example.com/jwks.json" }).jwt?.jwksUrl?.href).toBe(
      "https://keys.example.com/jwks.json",
    );
    expect(authSettings({ TRAILGRAPH_JWKS_URL: "http://127.0.0.1:8080/jwks" }).jwt?.jwksUrl).not.toBeNull();
  });

  it("refuses both a JWKS URL and a JWKS file", () => {
    const jwks = file("both.json", { keys: [{ kty: "EC", crv: "P-256", x: "x", y: "y" }] });
    expect(refusal({ TRAILGRAPH_JWKS_URL: "https://keys.example.com/", TRAILGRAPH_JWKS_FILE: jwks })).toMatch(
      /TRAILGRAPH_JWKS_URL and TRAILGRAPH_JWKS_FILE are both set/,
    );
  });

  it("reads a JWKS file at start: refuses one that is missing, not a JWKS, or holds a private or symmetric key", () => {
    expect(refusal({ TRAILGRAPH_JWKS_FILE: join(dir, "missing.json") })).toMatch(
      /^TRAILGRAPH_JWKS_FILE .*missing\.json' cannot be read/,
    );
    expect(refusal({ TRAILGRAPH_JWKS_FILE: file("no-keys.json", { keys: [] }) })).toMatch(/is not a JWKS/);
    expect(
      refusal({
        TRAILGRAPH_JWKS_FILE: file("private.json", { keys: [{ kty: "EC", crv: "P-256", x: "x", y: "y", d: "d" }] }),
      }),
    ).toMatch(/holds a private or symmetric key/);
    expect(refusal({ TRAILGRAPH_JWKS_FILE: file("oct.json", { keys: [{ kty: "oct", k: "abc" }] }) })).toMatch(
      /holds a private or symmetric key/,
    );
    const good = file("good.json", { keys: [{ kty: "EC", crv: "P-256", x: "x", y: "y" }] });
    expect(authSettings({ TRAILGRAPH_JWKS_FILE: good }).jwt?.jwks?.keys.keys).toHaveLength(1);
  });

  it("refuses JWT settings without a key to verify with (a typo would otherwise serve open)", () => {
    expect(refusal({ TRAILGRAPH_JWT_ISSUER: "https://issuer.example.com/" })).toMatch(
      /^TRAILGRAPH_JWT_ISSUER is set but JWTs are off/,
    );
    expect(refusal({ TRAILGRAPH_JWT_AUDIENCE: "trailgraph", TRAILGRAPH_JWT_ACCOUNTS_CLAIM: "tenants" })).toMatch(
      /^TRAILGRAPH_JWT_AUDIENCE, TRAILGRAPH_JWT_ACCOUNTS_CLAIM are set but JWTs are off/,
    );
  });

  it("reads issuer, audience, claim names and clock tolerance; refuses a tolerance that is not whole seconds", () => {
    const settings = authSettings({
      TRAILGRAPH_JWT_SECRET: SECRET,
      TRAILGRAPH_JWT_ISSUER: "https://issuer.example.com/",
      TRAILGRAPH_JWT_AUDIENCE: "trailgraph",
      TRAILGRAPH_JWT_ACCOUNTS_CLAIM: "https://example.com/accounts",
      TRAILGRAPH_JWT_WRITE_CLAIM: "ingest",
      TRAILGRAPH_JWT_CLOCK_TOLERANCE: "5",
    });
    expect(settings.jwt).toMatchObject({
      issuer: "https://issuer.example.com/",
      audience: "trailgraph",
      accountsClaim: "https://example.com/accounts",
      writeClaim: "ingest",
      clockTolerance: 5,
    });
    for (const bad of ["-1", "1.5", "soon", "100000"]) {
      expect(refusal({ TRAILGRAPH_JWT_SECRET: SECRET, TRAILGRAPH_JWT_CLOCK_TOLERANCE: bad })).toMatch(
        /^TRAILGRAPH_JWT_CLOCK_TOLERANCE/,
      );
    }
  });

  it("reads the API keys file at start: refuses one that is missing or malformed, naming the variable", () => {
    expect(refusal({ TRAILGRAPH_API_KEYS_FILE: join(dir, "no-keys-here.json") })).toMatch(
      /^TRAILGRAPH_API_KEYS_FILE: cannot read .*`trailgraph apikey create` makes it/,
    );
    expect(refusal({ TRAILGRAPH_API_KEYS_FILE: file("broken-keys.json", "{") })).toMatch(
      /^TRAILGRAPH_API_KEYS_FILE: .* is not JSON/,
    );
    expect(refusal({ TRAILGRAPH_API_KEYS_FILE: file("bad-entry.json", { keys: [{ id: "x" }] }) })).toMatch(
      /keys\[0\]: id is not 12 hex digits/,
    );
    const keys = file("empty-keys.json", { version: 1, keys: [] });
    const settings = authSettings({ TRAILGRAPH_API_KEYS_FILE: keys });
    expect(settings.apiKeysFile).toBe(keys);
    expect(authenticationOn(settings)).toBe(true);
  });

  it("TRAILGRAPH_OPEN: true or false only, and never together with authentication", () => {
    expect(authSettings({ TRAILGRAPH_OPEN: "true" }).open).toBe(true);
    expect(authSettings({ TRAILGRAPH_OPEN: "false" }).open).toBe(false);
    expect(authSettings({}, { open: true }).open).toBe(true);
    expect(refusal({ TRAILGRAPH_OPEN: "yes please" })).toMatch(
      /^TRAILGRAPH_OPEN 'yes please' is neither true nor false/,
    );
    expect(refusal({ TRAILGRAPH_OPEN: "true", TRAILGRAPH_JWT_SECRET: SECRET })).toMatch(
      /^TRAILGRAPH_OPEN=true asks for no authentication, but JWTs are configured/,
    );
    expect(refusal({ TRAILGRAPH_JWT_SECRET: SECRET }, { open: true })).toMatch(/^--open asks for no authentication/);
  });

  it("knows loopback addresses", () => {
    for (const host of ["127.0.0.1", "127.1.2.3", "localhost", "LOCALHOST", "::1", "[::1]", "::ffff:127.0.0.1"]) {
      expect(isLoopback(host), host).toBe(true);
    }
    for (const host of ["0.0.0.0", "::", "10.0.0.1", "192.168.1.10", "example.com", "128.0.0.1", "::2"]) {
      expect(isLoopback(host), host).toBe(false);
    }
  });
});
