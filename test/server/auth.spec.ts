/**
 * Access control (issue 15, credentials): JWTs (HS256 with a shared secret; RS256 and ES256
 * through a JWKS file or URL), API keys made by the real CLI, each credential's accounts
 * restricting what GraphQL answers, 401s that say what is wrong, POST /ingest with write
 * grants limited to a credential's accounts, open mode and its refusal on a public address,
 * and the request log line.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { readFileSync } from "node:fs";
import type { FastifyInstance } from "fastify";
import type { GraphQLSchema } from "graphql";
import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authSettings, OPEN, type AuthSettings } from "../../src/auth/settings";
import { normalizeEvent } from "../../src/ingest/normalize";
import { buildTrailGraphSchema } from "../../src/schema/build";
import { createApp, type AppOptions } from "../../src/server/app";
import { requireBuiltCli, runCli, serve, startCli } from "../support/cli";
import { openTestStore, type TestStore } from "../support/harness";
import { ABUSIVE } from "../support/query-shapes";
import { countRows } from "../support/tables";

const samples = JSON.parse(readFileSync("samples/events.json", "utf8")) as Array<Record<string, unknown>>;
const A = "151266687691****";
const B = "176618589410****";
const C = "133592699956****";
/** Sample events per owning account. */
const owned = new Map<string | null, number>();
for (const event of samples) {
  const { accountId } = normalizeEvent(event);
  owned.set(accountId, (owned.get(accountId) ?? 0) + 1);
}

const SECRET = "a-shared-secret-of-at-least-32-bytes-for-tests";
const ISSUER = "https://issuer.example.com/";
const AUDIENCE = "trailgraph-test";
const INGEST_TOKEN = "ingest-token-for-the-auth-tests";
const SCOPE_QUERY = `{ events(first: 500) { totalCount nodes { accountId } } accounts(first: 500) { nodes { accountId } } }`;

const now = () => Math.floor(Date.now() / 1000);

/** An HS256 token with the test issuer, audience, 5 minutes of life and account A, unless told otherwise. */
function hs256(claims: JWTPayload = {}, secret = SECRET): Promise<string> {
  return new SignJWT({ sub: "alice", iss: ISSUER, aud: AUDIENCE, exp: now() + 300, accounts: [A], ...claims })
    .setProtectedHeader({ alg: "HS256" })
    .sign(new TextEncoder().encode(secret));
}

/** An unsigned token (`alg: none`) with valid claims. */
function unsigned(claims: JWTPayload = {}): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  return `${part({ alg: "none", typ: "JWT" })}.${part({ sub: "mallory", iss: ISSUER, aud: AUDIENCE, exp: now() + 300, accounts: "*", ...claims })}.`;
}

interface KeyPair {
  kid: string;
  alg: "RS256" | "ES256";
  privateKey: CryptoKey;
  jwk: JWK;
}

async function keyPair(alg: "RS256" | "ES256", kid: string): Promise<KeyPair> {
  const { publicKey, privateKey } = await generateKeyPair(alg);
  return { kid, alg, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: "sig" } };
}

function signed(key: KeyPair, claims: JWTPayload = {}, kid = key.kid): Promise<string> {
  return new SignJWT({ sub: `${key.alg}-user`, exp: now() + 300, accounts: [A], ...claims })
    .setProtectedHeader({ alg: key.alg, kid })
    .sign(key.privateKey);
}

let store: TestStore;
let schema: GraphQLSchema;
let dir: string;
const apps: FastifyInstance[] = [];

beforeAll(async () => {
  requireBuiltCli();
  dir = await mkdtemp(join(tmpdir(), "trailgraph-auth-"));
  store = await openTestStore("sqlite");
  await store.ingestEvents(samples);
  schema = await buildTrailGraphSchema();
});
afterAll(async () => {
  for (const app of apps) await app.close();
  await store?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function appWith(auth: AuthSettings, options: Partial<AppOptions> = {}): Promise<FastifyInstance> {
  const app = await createApp({
    dataSource: store.dataSource,
    schema,
    auth,
    ingest: { token: null, maxBytes: 1024 * 1024 },
    ...options,
  });
  apps.push(app);
  return app;
}

interface Answer {
  status: number;
  body: any;
  raw: string;
  headers: Record<string, unknown>;
}

async function ask(app: FastifyInstance, query: string, credential?: string | null, headers = {}): Promise<Answer> {
  const response = await app.inject({
    method: "POST",
    url: "/graphql",
    headers: {
      "content-type": "application/json",
      ...(credential ? { authorization: `Bearer ${credential}` } : {}),
      ...headers,
    },
    payload: JSON.stringify({ query }),
  });
  return {
    status: response.statusCode,
    body: JSON.parse(response.body),
    raw: response.body,
    headers: response.headers,
  };
}

/** What a credential sees: the events' total, the accounts of the events listed, the accounts listed. */
async function seen(app: FastifyInstance, credential: string) {
  const answer = await ask(app, SCOPE_QUERY, credential);
  expect(answer.status, answer.raw).toBe(200);
  expect(answer.body.errors).toBeUndefined();
  const { events, accounts } = answer.body.data;
  return {
    total: events.totalCount as number,
    eventAccounts: [...new Set(events.nodes.map((node: any) => node.accountId))].sort(),
    accounts: accounts.nodes.map((node: any) => node.accountId).sort(),
  };
}

/** A 401 in GraphQL's format, with WWW-Authenticate: Bearer and no data; returns its message. */
function refused(answer: Answer, status = 401): string {
  expect(answer.status, answer.raw).toBe(status);
  expect(answer.body.data).toBeUndefined();
  expect(answer.body.errors).toHaveLength(1);
  const [error] = answer.body.errors;
  expect(error.extensions.code).toBe(status === 401 ? "UNAUTHENTICATED" : "FORBIDDEN");
  if (status === 401) expect(String(answer.headers["www-authenticate"])).toMatch(/^Bearer( |$)/);
  return error.message;
}

describe("JWT with a shared secret (HS256)", () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await appWith(
      authSettings({
        TRAILGRAPH_JWT_SECRET: SECRET,
        TRAILGRAPH_JWT_ISSUER: ISSUER,
        TRAILGRAPH_JWT_AUDIENCE: AUDIENCE,
      }),
    );
  });

  it("a token for one account reads only that account's events and accounts", async () => {
    const view = await seen(app, await hs256({ accounts: [A] }));
    expect(view.total).toBe(owned.get(A));
    expect(view.total).toBeLessThan(samples.length);
    expect(view.eventAccounts).toEqual([A]);
    expect(view.accounts).toEqual([A]);
  });

  it("a token for two accounts reads those two", async () => {
    const view = await seen(app, await hs256({ accounts: [B, C] }));
    expect(view.total).toBe(owned.get(B)! + owned.get(C)!);
    expect(view.eventAccounts).toEqual([B, C].sort());
    expect(view.accounts).toEqual([B, C].sort());
  });

  it('"*" reads every account; an empty list reads nothing', async () => {
    const all = await seen(app, await hs256({ accounts: "*" }));
    expect(all.total).toBe(samples.length);
    expect(all.accounts).toEqual([A, B, C].sort());
    const none = await seen(app, await hs256({ accounts: [] }));
    expect(none).toEqual({ total: 0, eventAccounts: [], accounts: [] });
  });

  it("a token a little past its exp, within the clock tolerance (30 s), is still accepted", async () => {
    expect((await seen(app, await hs256({ exp: now() - 10 }))).total).toBe(owned.get(A));
  });

  it("refuses each bad credential with 401 and a message of its own that never quotes the token", async () => {
    const cases: Array<[string, string | null, RegExp, Record<string, string>?]> = [
      ["no credential", null, /^no credential: send `Authorization: Bearer <credential>` with a JWT\.$/],
      ["not Bearer", null, /Authorization header is not `Bearer <credential>`/, { authorization: "Basic YTpi" }],
      ["not a JWT", "not-a-jwt", /not a well-formed JWT/],
      ["wrong secret", await hs256({}, "another-secret-that-is-at-least-32-bytes"), /signature does not verify/],
      ["expired", await hs256({ exp: now() - 120 }), /^the token expired \(\d{4}-\d\d-\d\dT[\d:]+Z\)\.$/],
      ["not yet valid", await hs256({ nbf: now() + 600 }), /^the token is not valid yet/],
      ["wrong issuer", await hs256({ iss: "https://elsewhere.example.com/" }), /issuer is not "https:\/\/issuer/],
      ["wrong audience", await hs256({ aud: "another-service" }), /audience is not "trailgraph-test"/],
      ["no exp", await hs256({ exp: undefined }), /no 'exp' claim/],
      ["alg none", unsigned(), /signed with none, which this server does not accept \(it accepts HS256\)/],
      ["an API key", `tgk_0123456789ab_${"x".repeat(43)}`, /accepts no API keys/],
    ];
    const messages = new Set<string>();
    for (const [name, token, expected, headers] of cases) {
      const answer = await ask(app, SCOPE_QUERY, token, headers);
      const message = refused(answer);
      expect(message, name).toMatch(expected);
      if (token) {
        expect(answer.raw, name).not.toContain(token);
        expect(answer.raw, name).not.toContain(token.split(".")[1] ?? token);
      }
      messages.add(message);
    }
    expect(messages.size).toBe(cases.length);
  });

  it("a token whose accounts claim is missing or not a list is refused with 403: it grants nothing", async () => {
    expect(refused(await ask(app, SCOPE_QUERY, await hs256({ accounts: undefined })), 403)).toMatch(
      /'accounts' claim is missing: it must be a list of account IDs, or "\*"/,
    );
    expect(refused(await ask(app, SCOPE_QUERY, await hs256({ accounts: A })), 403)).toMatch(
      /'accounts' claim is malformed/,
    );
    expect(refused(await ask(app, SCOPE_QUERY, await hs256({ accounts: [A, 7] })), 403)).toMatch(/malformed/);
  });

  it("reads the accounts from the claim TRAILGRAPH_JWT_ACCOUNTS_CLAIM names", async () => {
    const named = await appWith(
      authSettings({ TRAILGRAPH_JWT_SECRET: SECRET, TRAILGRAPH_JWT_ACCOUNTS_CLAIM: "https://example.com/accounts" }),
    );
    const token = await hs256({ accounts: "*", "https://example.com/accounts": [C] });
    expect((await seen(named, token)).accounts).toEqual([C]);
  });

  it("GET queries need a credential too; GraphiQL's page and /health do not", async () => {
    const get = (url: string, headers: Record<string, string> = {}) => app.inject({ method: "GET", url, headers });
    const query = `/graphql?query=${encodeURIComponent("{ events { totalCount } }")}`;
    const anonymous = await get(query, { "apollo-require-preflight": "1" });
    expect(anonymous.statusCode).toBe(401);
    expect(JSON.parse(anonymous.body).errors[0].extensions.code).toBe("UNAUTHENTICATED");
    const allowed = await get(query, { "apollo-require-preflight": "1", authorization: `Bearer ${await hs256()}` });
    expect(allowed.statusCode, allowed.body).toBe(200);
    expect(JSON.parse(allowed.body).data.events.totalCount).toBe(owned.get(A));
    const page = await get("/graphql", { accept: "text/html" });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain("<title>TrailGraph</title>");
    const health = await get("/health");
    expect(health.statusCode).toBe(200);
  });
});

describe("JWT with public keys (RS256, ES256)", () => {
  let rs: KeyPair;
  let es: KeyPair;
  beforeAll(async () => {
    [rs, es] = await Promise.all([keyPair("RS256", "rs-1"), keyPair("ES256", "es-1")]);
  });

  it("through a JWKS file: RS256 and ES256 accepted, HS256 and alg none refused, unknown kid or forged key refused", async () => {
    // A key published without "alg" could check RS384, PS256... as well: only RS256 and ES256 pass.
    const loose = await generateKeyPair("RS384");
    const looseJwk = { ...(await exportJWK(loose.publicKey)), kid: "rsa-no-alg" };
    const file = join(dir, "jwks.json");
    await writeFile(file, JSON.stringify({ keys: [rs.jwk, es.jwk, looseJwk] }));
    const app = await appWith(authSettings({ TRAILGRAPH_JWKS_FILE: file, TRAILGRAPH_JWT_AUDIENCE: AUDIENCE }));
    expect((await seen(app, await signed(rs, { aud: AUDIENCE }))).total).toBe(owned.get(A));
    expect((await seen(app, await signed(es, { aud: AUDIENCE, accounts: [B] }))).accounts).toEqual([B]);

    const hs = await hs256({ aud: AUDIENCE, accounts: "*" });
    expect(refused(await ask(app, SCOPE_QUERY, hs))).toMatch(
      /signed with HS256, which this server does not accept \(it accepts RS256, ES256\)/,
    );
    expect(refused(await ask(app, SCOPE_QUERY, unsigned({ aud: AUDIENCE })))).toMatch(/signed with none/);
    const rs384 = await new SignJWT({ aud: AUDIENCE, exp: now() + 300, accounts: "*" })
      .setProtectedHeader({ alg: "RS384", kid: "rsa-no-alg" })
      .sign(loose.privateKey);
    expect(refused(await ask(app, SCOPE_QUERY, rs384))).toMatch(
      /signed with RS384, which this server does not accept \(it accepts RS256, ES256\)/,
    );
    expect(refused(await ask(app, SCOPE_QUERY, await signed(rs, { aud: AUDIENCE }, "unknown-kid")))).toMatch(
      /no key of the JWKS matches the token's key ID 'unknown-kid'/,
    );
    const forger = await keyPair("RS256", "rs-1");
    expect(refused(await ask(app, SCOPE_QUERY, await signed(forger, { aud: AUDIENCE })))).toMatch(
      /signature does not verify/,
    );
    expect(refused(await ask(app, SCOPE_QUERY, await signed(rs)))).toMatch(/the token has no 'aud' claim/);
    expect(refused(await ask(app, SCOPE_QUERY, await signed(es, { aud: "elsewhere" })))).toMatch(/audience is not/);
  });

  it("through a JWKS URL: keys fetched and cached; a rotated key's unknown kid is fetched again; a removed key refused", async () => {
    let served: JWK[] = [rs.jwk, es.jwk];
    let fetches = 0;
    const server: Server = createServer((_request, response) => {
      fetches++;
      response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: served }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const settings = authSettings({
        TRAILGRAPH_JWKS_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`,
      });
      settings.jwt!.jwksCooldownMs = 0; // jose waits 30 s between fetches for unknown keys by default
      const app = await appWith(settings);

      expect((await seen(app, await signed(rs))).total).toBe(owned.get(A));
      expect(fetches).toBe(1);
      expect((await seen(app, await signed(es, { accounts: "*" }))).total).toBe(samples.length);
      expect((await seen(app, await signed(rs))).total).toBe(owned.get(A));
      expect(fetches).toBe(1); // cached

      const rotated = await keyPair("RS256", "rs-2");
      served = [rotated.jwk];
      expect((await seen(app, await signed(rotated, { accounts: [C] }))).accounts).toEqual([C]);
      expect(fetches).toBe(2); // the unknown kid made it fetch again
      // A token the removed key signs now is refused (one it signed before stays verified for
      // at most VERIFIED_TOKEN_TTL_MS: src/auth/credentials.spec.ts).
      expect(refused(await ask(app, SCOPE_QUERY, await signed(rs, { sub: "after-removal" })))).toMatch(
        /no key of the JWKS matches the token's key ID 'rs-1'/,
      );
      expect(fetches).toBe(3);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("a JWKS URL that does not answer: 503, the token is not blamed", async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    await new Promise((resolve) => server.close(resolve)); // nothing listens there any more
    const app = await appWith(authSettings({ TRAILGRAPH_JWKS_URL: `http://127.0.0.1:${port}/jwks.json` }));
    const answer = await ask(app, SCOPE_QUERY, await signed(rs));
    expect(answer.status, answer.raw).toBe(503);
    expect(answer.body.errors[0].message).toMatch(/signing keys could not be fetched from TRAILGRAPH_JWKS_URL/);
    expect(answer.body.errors[0].extensions.code).toBe("SERVICE_UNAVAILABLE");
  });
});

describe("API keys made by the CLI", () => {
  let file: string;
  const keys: Record<string, { key: string; id: string }> = {};
  const cli = (args: string[]) => runCli(["apikey", ...args], { cwd: dir, env: { TRAILGRAPH_API_KEYS_FILE: file } });

  beforeAll(async () => {
    file = join(dir, "api-keys.json");
    for (const [name, args] of [
      ["dashboard", ["--accounts", A]],
      ["auditor", ["--all-accounts"]],
      ["pusher", ["--accounts", `${B}, ${C}`, "--write"]],
    ] as const) {
      const run = await cli(["create", "--name", name, ...args]);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toMatch(/printed only this once/);
      const key = run.stdout.trim();
      expect(key).toMatch(/^tgk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
      keys[name] = { key, id: key.slice(4, 16) };
    }
  });

  it("refuses a create without accounts, or with both kinds", async () => {
    for (const args of [
      ["--name", "x"],
      ["--name", "x", "--accounts", A, "--all-accounts"],
      ["--accounts", A],
    ]) {
      const run = await cli(["create", ...args]);
      expect(run.code).toBe(2);
    }
    const none = await runCli(["apikey", "list"], { cwd: dir, env: { TRAILGRAPH_API_KEYS_FILE: "" } });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/apikey needs TRAILGRAPH_API_KEYS_FILE/);
  });

  it("each key reads its accounts; a key with a wrong secret is refused", async () => {
    const app = await appWith(authSettings({ TRAILGRAPH_API_KEYS_FILE: file }));
    expect(await seen(app, keys.dashboard.key)).toEqual({
      total: owned.get(A),
      eventAccounts: [A],
      accounts: [A],
    });
    expect((await seen(app, keys.auditor.key)).total).toBe(samples.length);
    expect((await seen(app, keys.pusher.key)).accounts).toEqual([B, C].sort());
    const forged = keys.dashboard.key.slice(0, -4) + (keys.dashboard.key.endsWith("AAAA") ? "BBBB" : "AAAA");
    expect(refused(await ask(app, SCOPE_QUERY, forged))).toBe("unknown or revoked API key.");
    expect(refused(await ask(app, SCOPE_QUERY, await hs256()))).toMatch(/accepts no JWTs: send an API key/);
    expect(refused(await ask(app, SCOPE_QUERY, null))).toMatch(/with an API key \(tgk_\.\.\.\)/);
  });

  it("list shows every key's id, name, accounts and grant, never a secret or hash", async () => {
    const table = await cli(["list"]);
    expect(table.code, table.stderr).toBe(0);
    const json = await cli(["list", "--json"]);
    expect(json.code, json.stderr).toBe(0);
    const listed = JSON.parse(json.stdout);
    expect(listed.map((entry: any) => entry.name).sort()).toEqual(["auditor", "dashboard", "pusher"]);
    expect(listed.find((entry: any) => entry.name === "pusher")).toMatchObject({
      id: keys.pusher.id,
      accounts: [B, C],
      write: true,
    });
    for (const entry of listed)
      expect(Object.keys(entry).sort()).toEqual(["accounts", "created", "id", "name", "write"]);
    for (const run of [table, json]) {
      for (const { key, id } of Object.values(keys)) {
        expect(run.stdout).toContain(id);
        expect(run.stdout).not.toContain(key.slice(17));
      }
      expect(run.stdout).not.toMatch(/sha256|hash/);
    }
    expect(table.stdout).toMatch(new RegExp(`${keys.dashboard.id}\\s+dashboard\\s+${A.replace(/\*/g, "\\*")}\\s+no`));
  });

  it("revoke: the running server refuses the key at the next request after a second, without a restart", async () => {
    const app = await appWith(authSettings({ TRAILGRAPH_API_KEYS_FILE: file }));
    const victim = await cli(["create", "--name", "temporary", "--accounts", A]);
    const key = victim.stdout.trim();
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect((await seen(app, key)).total).toBe(owned.get(A)); // a key created after the start counts too
    const revoke = await cli(["revoke", key.slice(4, 16)]);
    expect(revoke.code, revoke.stderr).toBe(0);
    expect(revoke.stderr).toMatch(/revoked API key [0-9a-f]{12} 'temporary'/);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(refused(await ask(app, SCOPE_QUERY, key))).toBe("unknown or revoked API key.");
    expect((await seen(app, keys.dashboard.key)).total).toBe(owned.get(A));
    const again = await cli(["revoke", key.slice(4, 16)]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/no API key/);
  });
});

describe("POST /ingest with credentials", () => {
  let app: FastifyInstance;
  let file: string;
  let auditor: string;
  let pusher: string;
  let reader: string;

  beforeAll(async () => {
    file = join(dir, "ingest-keys.json");
    const create = async (...args: string[]) => {
      const run = await runCli(["apikey", "create", ...args], { cwd: dir, env: { TRAILGRAPH_API_KEYS_FILE: file } });
      expect(run.code, run.stderr).toBe(0);
      return run.stdout.trim();
    };
    pusher = await create("--name", "pusher", "--accounts", A, "--write");
    reader = await create("--name", "reader", "--accounts", A);
    auditor = await create("--name", "auditor", "--all-accounts");
    app = await appWith(authSettings({ TRAILGRAPH_API_KEYS_FILE: file, TRAILGRAPH_JWT_SECRET: SECRET }), {
      ingest: { token: INGEST_TOKEN, maxBytes: 1024 * 1024 },
    });
  });

  /** Sample events of an account under new event IDs. */
  function fresh(prefix: string, account: string, count: number) {
    return samples
      .filter((event) => normalizeEvent(event).accountId === account)
      .slice(0, count)
      .map((event, index) => ({ ...event, eventId: `${prefix}-${account.slice(0, 6)}-${index}` }));
  }

  const post = (events: unknown[], credential: string | null) =>
    app.inject({
      method: "POST",
      url: "/ingest",
      headers: { "content-type": "application/json", ...(credential ? { authorization: `Bearer ${credential}` } : {}) },
      payload: JSON.stringify(events),
    });

  async function storedIds(prefix: string): Promise<string[]> {
    const answer = await ask(app, `{ events(first: 500) { nodes { eventId } } }`, auditor);
    return answer.body.data.events.nodes
      .map((node: any) => node.eventId as string)
      .filter((id: string) => id.startsWith(prefix))
      .sort();
  }

  it("a write key limited to one account stores that account's events and rejects the others with the reason", async () => {
    const mine = fresh("key", A, 3);
    const theirs = [...fresh("key", B, 1), ...fresh("key", C, 1)];
    const orphan = { eventId: "key-orphan", eventTime: "2021-08-01T00:00:00Z", userIdentity: { type: "system" } };
    const response = await post([...mine, ...theirs, orphan], pusher);
    expect(response.statusCode, response.body).toBe(422);
    const summary = JSON.parse(response.body);
    expect(summary).toMatchObject({ read: 6, inserted: 3, rejected: 3 });
    expect(summary.rejects.map((reject: any) => reject.reason)).toEqual([
      `event belongs to account ${B}, which this credential may not write`,
      `event belongs to account ${C}, which this credential may not write`,
      "event belongs to no account, which this credential may not write",
    ]);
    expect(await storedIds("key-")).toEqual(mine.map((event) => event.eventId).sort());
    // Kept as any other reject, for ingestRejects (which an unrestricted credential reads).
    const rejects = await ask(app, `{ ingestRejects(first: 500) { nodes { reason text } } }`, auditor);
    const reasons = rejects.body.data.ingestRejects.nodes.map((node: any) => node.reason);
    expect(reasons).toContain(`event belongs to account ${B}, which this credential may not write`);
    expect(reasons).toContain("event belongs to no account, which this credential may not write");
  });

  it("a JWT whose trailgraph:write claim is true writes within its accounts", async () => {
    const token = await hs256({ accounts: [B], "trailgraph:write": true });
    const response = await post([...fresh("jwt", B, 2), ...fresh("jwt", A, 1)], token);
    expect(response.statusCode, response.body).toBe(422);
    expect(JSON.parse(response.body)).toMatchObject({ inserted: 2, rejected: 1 });
    expect((await storedIds("jwt-")).every((id) => id.startsWith(`jwt-${B.slice(0, 6)}`))).toBe(true);
    const everything = await post(fresh("jwt-all", C, 2), await hs256({ accounts: "*", "trailgraph:write": true }));
    expect(everything.statusCode, everything.body).toBe(200);
  });

  it("without a write grant: 403, nothing stored", async () => {
    for (const [name, credential] of [
      ["read-only key", reader],
      ["JWT without the write claim", await hs256({ accounts: "*" })],
      ["JWT whose write claim is not true", await hs256({ accounts: "*", "trailgraph:write": "yes" })],
    ] as const) {
      const response = await post(fresh("denied", A, 1), credential);
      expect(response.statusCode, name).toBe(403);
      expect(JSON.parse(response.body).error, name).toMatch(/has no write grant/);
    }
    expect(await storedIds("denied")).toEqual([]);
  });

  it("a bad or missing credential: 401 with WWW-Authenticate; the ingest token still writes every account", async () => {
    for (const credential of [null, "wrong", `${pusher.slice(0, -1)}x`]) {
      const response = await post(fresh("bad", A, 1), credential);
      expect(response.statusCode).toBe(401);
      expect(String(response.headers["www-authenticate"])).toMatch(/^Bearer/);
    }
    expect(await storedIds("bad")).toEqual([]);
    const response = await post([...fresh("token", A, 1), ...fresh("token", B, 1)], INGEST_TOKEN);
    expect(response.statusCode, response.body).toBe(200);
    expect(await storedIds("token")).toHaveLength(2);
  });

  it("open mode writes nothing: without the ingest token the endpoint is off", async () => {
    const open = await appWith(OPEN);
    const response = await open.inject({
      method: "POST",
      url: "/ingest",
      headers: { authorization: `Bearer ${pusher}` },
      payload: JSON.stringify(fresh("open", A, 1)),
    });
    expect(response.statusCode).toBe(404);
  });
});

describe("open mode", () => {
  it("without JWT or API key settings every request reads every account, whatever it sends", async () => {
    const app = await appWith(OPEN);
    const stored = await countRows(store.dataSource, "events");
    const answer = await ask(app, SCOPE_QUERY);
    expect(answer.status).toBe(200);
    expect(answer.body.data.events.totalCount).toBe(stored);
    expect(answer.body.data.accounts.nodes).toHaveLength(3);
    expect((await ask(app, SCOPE_QUERY, "anything")).body.data.events.totalCount).toBe(stored);
  });

  it("serve refuses a non-loopback address without authentication, and says why", async () => {
    const running = startCli(["serve", "--host", "0.0.0.0", "--port", "0"], {
      cwd: dir,
      databaseUrl: `sqlite:${join(dir, "refused.sqlite")}`,
    });
    // A server that starts anyway is stopped, and the test fails on its exit code.
    const timer = setTimeout(() => running.child.kill("SIGKILL"), 20_000);
    const run = await running.exited;
    clearTimeout(timer);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(
      /serve --host 0\.0\.0\.0 without authentication would let anyone who reaches the port read every account's events/,
    );
    expect(run.stderr).toMatch(/TRAILGRAPH_OPEN=true or --open/);
    expect(run.stderr).not.toMatch(/GraphQL API at/);
    const both = await runCli(["serve", "--open", "--port", "0"], {
      cwd: dir,
      databaseUrl: `sqlite:${join(dir, "refused.sqlite")}`,
      env: { TRAILGRAPH_JWT_SECRET: SECRET },
    });
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--open asks for no authentication, but JWTs are configured/);
  });

  it("serve on 0.0.0.0 with TRAILGRAPH_OPEN=true starts, and says everything is readable", async () => {
    const server = await serve({
      cwd: dir,
      databaseUrl: `sqlite:${join(dir, "open.sqlite")}`,
      args: ["--host", "0.0.0.0"],
      env: { TRAILGRAPH_OPEN: "true" },
    });
    try {
      await expect
        .poll(server.log)
        .toMatch(
          /open mode \(TRAILGRAPH_OPEN=true\): no authentication; every account is readable by anyone who reaches 0\.0\.0\.0:\d+/,
        );
      expect((await server.query(`{ events { totalCount } }`)).data.events.totalCount).toBe(0);
    } finally {
      await server.stop();
    }
  });

  it("serve on loopback is open by default and says so", async () => {
    const server = await serve({ cwd: dir, databaseUrl: `sqlite:${join(dir, "loopback.sqlite")}` });
    try {
      await expect
        .poll(server.log)
        .toMatch(/open mode: no authentication; every account is readable by anyone who reaches 127\.0\.0\.1:\d+/);
    } finally {
      await server.stop();
    }
  });
});

describe("serve with authentication", () => {
  it("starts on 0.0.0.0 with API keys, says which methods are on, refuses anonymous requests, logs each request", async () => {
    const file = join(dir, "serve-keys.json");
    const created = await runCli(["apikey", "create", "--name", "ops", "--all-accounts"], {
      cwd: dir,
      env: { TRAILGRAPH_API_KEYS_FILE: file },
    });
    const key = created.stdout.trim();
    const server = await serve({
      cwd: dir,
      databaseUrl: `sqlite:${join(dir, "authenticated.sqlite")}`,
      args: ["--host", "0.0.0.0"],
      env: { TRAILGRAPH_API_KEYS_FILE: file },
    });
    let stdout = "";
    server.child.stdout!.on("data", (chunk) => (stdout += chunk));
    try {
      await expect.poll(server.log).toMatch(/POST http:\/\/0\.0\.0\.0:\d+\/ingest is on/);
      expect(server.log()).toContain(`authentication on: API keys (${file})`);
      expect(server.log()).not.toMatch(/open mode/);
      const anonymous = await fetch(server.url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query: "{ events { totalCount } }" }),
      });
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get("www-authenticate")).toMatch(/^Bearer/);
      const allowed = await fetch(server.url, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
        body: JSON.stringify({ query: "query Totals { events { totalCount } }" }),
      });
      expect(allowed.status).toBe(200);
      expect(((await allowed.json()) as any).data.events.totalCount).toBe(0);
      await expect.poll(() => stdout, { timeout: 5000 }).toMatch(/"operation":"Totals"/);
      const lines = stdout
        .split("\n")
        .filter((line) => line.includes('"msg":"request"'))
        .map((line) => JSON.parse(line));
      expect(lines.map((line) => [line.subject, line.status])).toEqual([
        ["anonymous", 401],
        [`apikey:${key.slice(4, 16)}`, 200],
      ]);
      expect(stdout).not.toContain(key);
    } finally {
      await server.stop();
    }
  });
});

describe("the request log", () => {
  it("writes one line per request: subject, operation, cost, statements, status, error code, duration; never the credential", async () => {
    const stream = new PassThrough();
    let output = "";
    stream.on("data", (chunk) => (output += chunk));
    const app = await appWith(authSettings({ TRAILGRAPH_JWT_SECRET: SECRET }), { logger: { stream } });
    const token = await hs256({ sub: "alice@example.com" });
    // Two lists, each read as its first page and its count: four SQL statements.
    const answer = await ask(app, "query MyEvents { events { totalCount } accounts { totalCount } }", token);
    expect(answer.status).toBe(200);
    const bad = await hs256({ exp: now() - 3600 });
    expect((await ask(app, "{ events { totalCount } }", bad)).status).toBe(401);
    expect((await app.inject({ method: "GET", url: "/health" })).statusCode).toBe(200);
    // Refused by the limits: before Apollo Server parses it (depth), and once priced (cost).
    const [deep, costly] = ABUSIVE;
    expect((await ask(app, deep.query, token)).status).toBe(400);
    const expensive = await ask(app, costly.query, token);
    expect(expensive.status).toBe(400);

    const lines = output
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line))
      .filter((line) => line.msg === "request");
    expect(lines).toHaveLength(5);
    expect(lines[0]).toMatchObject({
      subject: "alice@example.com",
      via: "jwt",
      operation: "MyEvents",
      cost: answer.body.extensions.cost.requested,
      statements: 4,
      method: "POST",
      path: "/graphql",
      status: 200,
    });
    expect(typeof lines[0].ms).toBe("number");
    expect(lines[1]).toMatchObject({ subject: "anonymous", status: 401, path: "/graphql", statements: 0 });
    expect(lines[1].auth).toMatch(/^the token expired/);
    expect(lines[0].code).toBeUndefined();
    expect(lines[1].code).toBe("UNAUTHENTICATED");
    expect(lines[2]).toMatchObject({ subject: "anonymous", path: "/health", status: 200 });
    expect(lines[3]).toMatchObject({ subject: "alice@example.com", status: 400, code: deep.code, statements: 0 });
    expect(lines[4]).toMatchObject({
      subject: "alice@example.com",
      status: 400,
      code: costly.code,
      cost: expensive.body.errors[0].extensions.cost,
      statements: 0,
    });
    expect(lines[4].cost).toBeGreaterThan(1e9);
    expect(output).not.toContain(token);
    expect(output).not.toContain(bad.split(".")[2]);
  });
});
