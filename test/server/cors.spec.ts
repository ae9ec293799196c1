/**
 * CORS for browser frontends (issue 15, access control): TRAILGRAPH_CORS_ORIGINS and
 * TRAILGRAPH_CORS_CREDENTIALS, checked at start; the headers of /graphql for allowed and other
 * origins; preflights answered without a credential; Apollo's CSRF prevention still refusing
 * "simple" requests. The same in a real browser: test/browser/cors.spec.ts.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readFileSync } from "node:fs";
import type { FastifyInstance, InjectOptions } from "fastify";
import type { GraphQLSchema } from "graphql";
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authSettings, OPEN, SettingsError, type AuthSettings } from "../../src/auth/settings";
import { buildTrailGraphSchema } from "../../src/schema/build";
import { createApp } from "../../src/server/app";
import { CORS_ALLOWED_HEADERS, CORS_MAX_AGE, CORS_OFF, corsSettings, type CorsSettings } from "../../src/server/cors";
import { requireBuiltCli, runCli, serve } from "../support/cli";
import { openTestStore, type TestStore } from "../support/harness";

const samples = JSON.parse(readFileSync("samples/events.json", "utf8")) as Array<Record<string, unknown>>;
const A = "151266687691****";
const SECRET = "a-shared-secret-of-at-least-32-bytes-for-cors-tests";
const ALLOWED = "https://console.example.com";
const ALSO_ALLOWED = "http://localhost:3000";
const OTHER = "https://evil.example.net";
const QUERY = "{ accounts { nodes { accountId } } }";

/** The SettingsError message for an environment (fails when it does not throw one). */
function refusal(env: NodeJS.ProcessEnv): string {
  try {
    corsSettings(env);
  } catch (error) {
    expect(error).toBeInstanceOf(SettingsError);
    return (error as Error).message;
  }
  throw new Error(`accepted ${JSON.stringify(env)}`);
}

describe("CORS settings", () => {
  it("unset, empty or blank: off", () => {
    for (const env of [{}, { TRAILGRAPH_CORS_ORIGINS: "" }, { TRAILGRAPH_CORS_ORIGINS: " , " }]) {
      const settings = corsSettings(env);
      expect(settings.origins).toEqual(new Set());
      expect(settings.credentials).toBe(false);
    }
  });

  it("a comma-separated list of origins, written as browsers send them", () => {
    const settings = corsSettings({
      TRAILGRAPH_CORS_ORIGINS: " https://Console.Example.com:443 ,http://localhost:3000, http://[::1]:8080,",
      TRAILGRAPH_CORS_CREDENTIALS: "true",
    });
    expect(settings.origins).toEqual(
      new Set(["https://console.example.com", "http://localhost:3000", "http://[::1]:8080"]),
    );
    expect(settings.credentials).toBe(true);
    expect(corsSettings({ TRAILGRAPH_CORS_ORIGINS: "*" }).origins).toBe("*");
    expect(corsSettings({ TRAILGRAPH_CORS_ORIGINS: ALLOWED, TRAILGRAPH_CORS_CREDENTIALS: "0" }).credentials).toBe(
      false,
    );
  });

  it("refuses what is not an exact origin, and credentials with any origin, each with a message of its own", () => {
    const cases: Array<[NodeJS.ProcessEnv, RegExp]> = [
      [{ TRAILGRAPH_CORS_ORIGINS: "console.example.com" }, /'console\.example\.com' is not an origin: write scheme/],
      [
        { TRAILGRAPH_CORS_ORIGINS: "https://console.example.com/app" },
        /no path.*write https:\/\/console\.example\.com\.$/,
      ],
      [{ TRAILGRAPH_CORS_ORIGINS: "https://console.example.com/" }, /is not an origin \(no path/],
      [
        { TRAILGRAPH_CORS_ORIGINS: "https://user@console.example.com" },
        /is not an origin \(no path, query or credentials/,
      ],
      [{ TRAILGRAPH_CORS_ORIGINS: "ftp://files.example.com" }, /is not an http or https origin/],
      [{ TRAILGRAPH_CORS_ORIGINS: "https://*.example.com" }, /has a wildcard: list each origin/],
      [{ TRAILGRAPH_CORS_ORIGINS: "null" }, /sandboxed frames and local files/],
      [{ TRAILGRAPH_CORS_ORIGINS: `*, ${ALLOWED}` }, /"\*" \(any origin\) stands alone/],
      [
        { TRAILGRAPH_CORS_ORIGINS: ALLOWED, TRAILGRAPH_CORS_CREDENTIALS: "yes" },
        /CREDENTIALS 'yes' is neither true nor false/,
      ],
      [
        { TRAILGRAPH_CORS_ORIGINS: "*", TRAILGRAPH_CORS_CREDENTIALS: "true" },
        /browsers refuse credentials for any origin/,
      ],
      [{ TRAILGRAPH_CORS_CREDENTIALS: "true" }, /CORS is off: set TRAILGRAPH_CORS_ORIGINS too/],
    ];
    const messages = new Set<string>();
    for (const [env, expected] of cases) {
      const message = refusal(env);
      expect(message, JSON.stringify(env)).toMatch(expected);
      expect(message).toMatch(/^TRAILGRAPH_CORS_/);
      messages.add(message);
    }
    expect(messages.size).toBe(cases.length);
  });
});

describe("CORS headers of /graphql", () => {
  let store: TestStore;
  let schema: GraphQLSchema;
  let token: string;
  const apps: FastifyInstance[] = [];

  beforeAll(async () => {
    store = await openTestStore("sqlite");
    await store.ingestEvents(samples);
    schema = await buildTrailGraphSchema();
    token = await new SignJWT({ sub: "frontend", exp: Math.floor(Date.now() / 1000) + 300, accounts: [A] })
      .setProtectedHeader({ alg: "HS256" })
      .sign(new TextEncoder().encode(SECRET));
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    await store?.close();
  });

  async function appWith(auth: AuthSettings, cors: CorsSettings): Promise<FastifyInstance> {
    const app = await createApp({
      dataSource: store.dataSource,
      schema,
      auth,
      cors,
      ingest: { token: "an-ingest-token", maxBytes: 1024 * 1024 },
    });
    apps.push(app);
    return app;
  }
  const jwt = () => authSettings({ TRAILGRAPH_JWT_SECRET: SECRET });
  const listed = (credentials = "false") =>
    corsSettings({ TRAILGRAPH_CORS_ORIGINS: `${ALLOWED},${ALSO_ALLOWED}`, TRAILGRAPH_CORS_CREDENTIALS: credentials });

  /** What Chromium sends before a JSON POST with a credential. */
  const preflight = (origin: string, url = "/graphql"): InjectOptions => ({
    method: "OPTIONS",
    url,
    headers: {
      origin,
      "access-control-request-method": "POST",
      "access-control-request-headers": "authorization,content-type",
    },
  });
  const post = (origin: string | null, credential: string | null, contentType = "application/json"): InjectOptions => ({
    method: "POST",
    url: "/graphql",
    headers: {
      "content-type": contentType,
      ...(origin ? { origin } : {}),
      ...(credential ? { authorization: `Bearer ${credential}` } : {}),
    },
    payload: JSON.stringify({ query: QUERY }),
  });
  const corsHeaders = (headers: Record<string, unknown>) =>
    Object.keys(headers).filter((name) => name.startsWith("access-control-"));

  it("a preflight from an allowed origin: 204 without a credential, with every header a browser needs", async () => {
    const app = await appWith(jwt(), listed("true"));
    for (const origin of [ALLOWED, ALSO_ALLOWED]) {
      const response = await app.inject(preflight(origin));
      expect(response.statusCode, response.body).toBe(204);
      expect(response.body).toBe("");
      expect(response.headers["www-authenticate"]).toBeUndefined();
      expect(response.headers["access-control-allow-origin"]).toBe(origin);
      expect(response.headers["access-control-allow-credentials"]).toBe("true");
      expect(response.headers["access-control-allow-methods"]).toBe("GET, POST");
      const allowed = String(response.headers["access-control-allow-headers"]).split(", ");
      for (const name of ["authorization", "content-type", "apollo-require-preflight", "x-apollo-operation-name"])
        expect(allowed).toContain(name);
      expect(allowed).toEqual([...CORS_ALLOWED_HEADERS]);
      expect(response.headers["access-control-max-age"]).toBe(String(CORS_MAX_AGE));
      expect(response.headers.vary).toBe("Origin");
    }
  });

  it("a preflight from another origin: 204 with no CORS header, so the browser goes no further", async () => {
    const app = await appWith(jwt(), listed("true"));
    for (const origin of [
      OTHER,
      "https://console.example.com.evil.example.net",
      "http://console.example.com",
      "null",
    ]) {
      const response = await app.inject(preflight(origin));
      expect(response.statusCode).toBe(204);
      expect(corsHeaders(response.headers), origin).toEqual([]);
      expect(response.headers.vary).toBe("Origin");
    }
  });

  it("answers: the allowed origin may read them (401s too), another origin is not told it may", async () => {
    const app = await appWith(jwt(), listed());
    const allowed = await app.inject(post(ALLOWED, token));
    expect(allowed.statusCode, allowed.body).toBe(200);
    expect(JSON.parse(allowed.body).data.accounts.nodes).toEqual([{ accountId: A }]);
    expect(allowed.headers["access-control-allow-origin"]).toBe(ALLOWED);
    expect(allowed.headers["access-control-allow-credentials"]).toBeUndefined();
    expect(allowed.headers["access-control-expose-headers"]).toBe("WWW-Authenticate");
    expect(allowed.headers.vary).toBe("Origin");

    const anonymous = await app.inject(post(ALLOWED, null));
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.headers["access-control-allow-origin"]).toBe(ALLOWED);
    expect(String(anonymous.headers["www-authenticate"])).toMatch(/^Bearer/);

    // The server cannot stop a non-browser client that writes any Origin (the credential does);
    // a browser reads nothing without Access-Control-Allow-Origin.
    for (const origin of [OTHER, null]) {
      const response = await app.inject(post(origin, token));
      expect(response.statusCode).toBe(200);
      expect(corsHeaders(response.headers)).toEqual([]);
      expect(response.headers.vary).toBe("Origin");
    }
  });

  it('"*": any origin reads, without credentials, and no Vary is needed', async () => {
    const app = await appWith(jwt(), corsSettings({ TRAILGRAPH_CORS_ORIGINS: "*" }));
    const asked = await app.inject(preflight(OTHER));
    expect(asked.statusCode).toBe(204);
    expect(asked.headers["access-control-allow-origin"]).toBe("*");
    expect(asked.headers["access-control-allow-credentials"]).toBeUndefined();
    expect(asked.headers["access-control-allow-headers"]).toBe(CORS_ALLOWED_HEADERS.join(", "));
    const answer = await app.inject(post(OTHER, token));
    expect(answer.headers["access-control-allow-origin"]).toBe("*");
    expect(answer.headers.vary).toBeUndefined();
  });

  it("CORS off (the default): no CORS header, no Vary; a preflight still gets 204, not 401", async () => {
    const app = await appWith(jwt(), CORS_OFF);
    const asked = await app.inject(preflight(ALLOWED));
    expect(asked.statusCode).toBe(204);
    expect(corsHeaders(asked.headers)).toEqual([]);
    expect(asked.headers.vary).toBeUndefined();
    const answer = await app.inject(post(ALLOWED, token));
    expect(answer.statusCode).toBe(200);
    expect(corsHeaders(answer.headers)).toEqual([]);
    expect(answer.headers.vary).toBeUndefined();
    // From the environment, as the harness's app: unset means off.
    const harness = await store.app.inject(preflight(ALLOWED));
    expect(harness.statusCode).toBe(204);
    expect(corsHeaders(harness.headers)).toEqual([]);
  });

  it("CSRF prevention stays on: simple requests are refused by Apollo (400), whatever their origin", async () => {
    const app = await appWith(OPEN, listed());
    const csrf = /This operation has been blocked as a potential Cross-Site Request Forgery/;
    const get = (headers: Record<string, string>) =>
      app.inject({ method: "GET", url: `/graphql?query=${encodeURIComponent(QUERY)}`, headers });
    for (const origin of [ALLOWED, OTHER]) {
      const simple = await app.inject(post(origin, null, "text/plain"));
      expect(simple.statusCode, simple.body).toBe(400);
      expect(simple.body).toMatch(csrf);
      // The other simple types have no parser here: refused before Apollo.
      for (const contentType of ["application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]) {
        const form = await app.inject(post(origin, null, contentType));
        expect(form.statusCode, `${origin} ${contentType}`).toBe(415);
        expect(form.body).not.toContain(A);
      }
      const plainGet = await get({ origin });
      expect(plainGet.statusCode).toBe(400);
      expect(plainGet.body).toMatch(csrf);
    }
    // What a browser sends only after a preflight passes.
    expect((await app.inject(post(ALLOWED, null))).statusCode).toBe(200);
    expect((await get({ origin: ALLOWED, "apollo-require-preflight": "true" })).statusCode).toBe(200);
    expect((await get({ origin: ALLOWED, "x-apollo-operation-name": "Accounts" })).statusCode).toBe(200);
  });

  it("POST /ingest is not for browsers: no CORS header, no preflight answered", async () => {
    const app = await appWith(jwt(), listed("true"));
    const asked = await app.inject(preflight(ALLOWED, "/ingest"));
    expect(asked.statusCode).toBe(404);
    expect(corsHeaders(asked.headers)).toEqual([]);
    const pushed = await app.inject({
      method: "POST",
      url: "/ingest",
      headers: { origin: ALLOWED, authorization: "Bearer an-ingest-token" },
      payload: JSON.stringify([]),
    });
    expect(pushed.statusCode, pushed.body).toBe(200);
    expect(corsHeaders(pushed.headers)).toEqual([]);
  });
});

describe("serve with CORS settings", () => {
  let dir: string;
  beforeAll(async () => {
    requireBuiltCli();
    dir = await mkdtemp(join(tmpdir(), "trailgraph-cors-"));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("refuses a bad value, and any origin without authentication, naming the variable (exit 2)", async () => {
    const databaseUrl = `sqlite:${join(dir, "refused.sqlite")}`;
    const bad = await runCli(["serve", "--port", "0"], {
      cwd: dir,
      databaseUrl,
      env: { TRAILGRAPH_CORS_ORIGINS: "https://console.example.com/app" },
    });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/TRAILGRAPH_CORS_ORIGINS: 'https:\/\/console\.example\.com\/app' is not an origin/);
    const any = await runCli(["serve", "--port", "0"], {
      cwd: dir,
      databaseUrl,
      env: { TRAILGRAPH_CORS_ORIGINS: "*" },
    });
    expect(any.code).toBe(2);
    expect(any.stderr).toMatch(/TRAILGRAPH_CORS_ORIGINS="\*" without authentication would let any web page/);
    expect(`${bad.stderr}${any.stderr}`).not.toMatch(/GraphQL API at/);
  });

  it("says which origins may call, and answers their preflights", async () => {
    const server = await serve({
      cwd: dir,
      databaseUrl: `sqlite:${join(dir, "cors.sqlite")}`,
      env: {
        TRAILGRAPH_JWT_SECRET: SECRET,
        TRAILGRAPH_CORS_ORIGINS: `${ALLOWED}, ${ALSO_ALLOWED}`,
        TRAILGRAPH_CORS_CREDENTIALS: "true",
        TRAILGRAPH_LOG_REQUESTS: "off",
      },
    });
    try {
      await expect
        .poll(server.log)
        .toContain(`CORS: pages from ${ALLOWED}, ${ALSO_ALLOWED} may call /graphql (with credentials)`);
      const response = await fetch(server.url, {
        method: "OPTIONS",
        headers: { origin: ALSO_ALLOWED, "access-control-request-method": "POST" },
      });
      expect(response.status).toBe(204);
      expect(response.headers.get("access-control-allow-origin")).toBe(ALSO_ALLOWED);
      expect(response.headers.get("access-control-allow-credentials")).toBe("true");
    } finally {
      await server.stop();
    }
  });
});
