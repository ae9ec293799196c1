/**
 * CORS in a real browser (headless Chromium): a page of another origin calls TrailGraph's
 * /graphql from its script, with `Authorization` and JSON (so Chromium sends a preflight
 * first). The allowed origin reads; another origin's fetch fails with a TypeError and the
 * server never answers it with data. Apollo's CSRF prevention stays on: a "simple" request
 * (text/plain POST, GET without a preflight header), which a browser sends without asking,
 * is refused before it runs, whatever its origin.
 */
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import type { GraphQLSchema } from "graphql";
import { SignJWT } from "jose";
import type { Page } from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authSettings, OPEN, type AuthSettings } from "../../src/auth/settings";
import { normalizeEvent } from "../../src/ingest/normalize";
import { buildTrailGraphSchema } from "../../src/schema/build";
import { createApp } from "../../src/server/app";
import { corsSettings } from "../../src/server/cors";
import { chromiumForTests, launchChromium, recordRequests, type TestBrowser } from "../support/chromium";
import { openTestStore, type TestStore } from "../support/harness";

const chromium = chromiumForTests("test/browser/cors.spec.ts");

const samples = JSON.parse(readFileSync("samples/events.json", "utf8")) as Array<Record<string, unknown>>;
const A = "151266687691****";
const SECRET = "a-shared-secret-of-at-least-32-bytes-for-the-browser";
const QUERY = "{ accounts(first: 50) { nodes { accountId } } events(first: 1) { totalCount } }";

/** The script of the foreign pages: `call(url, init)` fetches and says what the page could read. */
const FOREIGN_PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>a frontend</title></head><body>
<script>
  async function call(url, init) {
    try {
      const response = await fetch(url, init);
      const text = await response.text();
      let body = null;
      try { body = JSON.parse(text); } catch { body = text; }
      return { status: response.status, body, wwwAuthenticate: response.headers.get("www-authenticate") };
    } catch (error) {
      return { error: error.name + ": " + error.message };
    }
  }
</script>
</body></html>`;

interface Seen {
  method: string;
  origin: string | undefined;
  status: number;
  /** Whether the answer held GraphQL data. */
  data: boolean;
}

interface Served {
  app: FastifyInstance;
  url: string;
  /** Every request the server answered. */
  seen: Seen[];
}

interface PageResult {
  status?: number;
  body?: any;
  wwwAuthenticate?: string | null;
  error?: string;
}

describe.skipIf(!chromium)("CORS in headless Chromium", () => {
  let store: TestStore;
  let schema: GraphQLSchema;
  let chrome: TestBrowser;
  const foreign: Server[] = [];
  let allowedOrigin: string;
  let refusedOrigin: string;
  let allowedPage: Page;
  let refusedPage: Page;
  let secured: Served;
  let open: Served;
  let token: string;
  const leaving: string[] = [];
  const owned = samples.filter((event) => normalizeEvent(event).accountId === A).length;

  /** A server for the frontend page, on its own port: an origin of its own. */
  async function foreignOrigin(): Promise<string> {
    const server = createServer((_request, response) => {
      response.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(FOREIGN_PAGE);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    foreign.push(server);
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  /** TrailGraph on http://localhost:<port>, recording what it answers. */
  async function serveTrailGraph(auth: AuthSettings, env: Record<string, string>): Promise<Served> {
    const app = await createApp({
      dataSource: store.dataSource,
      schema,
      auth,
      cors: corsSettings(env),
      ingest: { token: null, maxBytes: 1024 * 1024 },
    });
    const seen: Seen[] = [];
    app.addHook("onSend", async (request, reply, payload) => {
      seen.push({
        method: request.method,
        origin: request.headers.origin,
        status: reply.statusCode,
        data: typeof payload === "string" && payload.includes('"data":{'),
      });
      return payload;
    });
    await app.listen({ port: 0, host: "127.0.0.1" });
    return { app, url: `http://localhost:${(app.server.address() as AddressInfo).port}/graphql`, seen };
  }

  async function openPage(origin: string): Promise<Page> {
    const page = await chrome.browser.newPage();
    const requests = await recordRequests(page);
    leaving.push(...requests.leaving);
    await page.goto(`${origin}/`, { waitUntil: "load" });
    return page;
  }

  /** Runs `call(url, init)` in the page: what its script could read. */
  function call(page: Page, url: string, init: Record<string, unknown>): Promise<PageResult> {
    return page.evaluate(`call(${JSON.stringify(url)}, ${JSON.stringify(init)})`) as Promise<PageResult>;
  }

  const json = (credential: string | null, extra: Record<string, unknown> = {}) => ({
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(credential ? { authorization: `Bearer ${credential}` } : {}),
    },
    body: JSON.stringify({ query: QUERY }),
    ...extra,
  });
  const plainText = {
    method: "POST",
    headers: { "content-type": "text/plain" },
    body: JSON.stringify({ query: QUERY }),
  };

  beforeAll(async () => {
    store = await openTestStore("sqlite");
    await store.ingestEvents(samples);
    schema = await buildTrailGraphSchema();
    [allowedOrigin, refusedOrigin] = [await foreignOrigin(), await foreignOrigin()];
    secured = await serveTrailGraph(authSettings({ TRAILGRAPH_JWT_SECRET: SECRET }), {
      TRAILGRAPH_CORS_ORIGINS: `https://console.example.com, ${allowedOrigin}`,
      TRAILGRAPH_CORS_CREDENTIALS: "true",
    });
    open = await serveTrailGraph(OPEN, { TRAILGRAPH_CORS_ORIGINS: allowedOrigin });
    token = await new SignJWT({ sub: "frontend-user", exp: Math.floor(Date.now() / 1000) + 600, accounts: [A] })
      .setProtectedHeader({ alg: "HS256" })
      .sign(new TextEncoder().encode(SECRET));
    chrome = await launchChromium(chromium!);
    [allowedPage, refusedPage] = await Promise.all([openPage(allowedOrigin), openPage(refusedOrigin)]);
  });
  afterAll(async () => {
    await chrome?.close();
    for (const served of [secured, open]) await served?.app.close();
    for (const server of foreign) await new Promise((resolve) => server.close(resolve));
    await store?.close();
  });

  it("the allowed origin reads its token's accounts, by POST (with credentials) and by GET", async () => {
    const posted = await call(allowedPage, secured.url, json(token, { credentials: "include" }));
    expect(posted.error).toBeUndefined();
    expect(posted.status).toBe(200);
    expect(posted.body.data.accounts.nodes).toEqual([{ accountId: A }]);
    expect(posted.body.data.events.totalCount).toBe(owned);
    // The browser asked first (the preflight), without the credential, and was let through.
    expect(secured.seen.filter((seen) => seen.origin === allowedOrigin).map((seen) => seen.method)).toEqual([
      "OPTIONS",
      "POST",
    ]);

    const got = await call(allowedPage, `${secured.url}?query=${encodeURIComponent(QUERY)}`, {
      headers: { authorization: `Bearer ${token}`, "apollo-require-preflight": "true" },
    });
    expect(got.status).toBe(200);
    expect(got.body.data.accounts.nodes).toEqual([{ accountId: A }]);
  });

  it("the allowed origin reads why a request without a credential is refused", async () => {
    const refused = await call(allowedPage, secured.url, json(null));
    expect(refused.status).toBe(401);
    expect(refused.body.errors[0].extensions.code).toBe("UNAUTHENTICATED");
    expect(refused.wwwAuthenticate).toMatch(/^Bearer/);
  });

  it("another origin's fetch fails in the page (TypeError) and never gets data", async () => {
    const before = secured.seen.length;
    const refused = await call(refusedPage, secured.url, json(token));
    expect(refused.status).toBeUndefined();
    expect(refused.error).toMatch(/^TypeError/);
    const get = await call(refusedPage, `${secured.url}?query=${encodeURIComponent(QUERY)}`, {
      headers: { authorization: `Bearer ${token}`, "apollo-require-preflight": "true" },
    });
    expect(get.error).toMatch(/^TypeError/);
    // Chromium asked, got no Access-Control-Allow-Origin, and sent nothing more.
    const seen = secured.seen.slice(before);
    expect(seen.map(({ method, origin, status }) => ({ method, origin, status }))).toEqual([
      { method: "OPTIONS", origin: refusedOrigin, status: 204 },
      { method: "OPTIONS", origin: refusedOrigin, status: 204 },
    ]);
    expect(secured.seen.filter((seen) => seen.origin === refusedOrigin && seen.data)).toEqual([]);
  });

  it("credentials (cookies) are allowed only where TRAILGRAPH_CORS_CREDENTIALS says so", async () => {
    const withCookies = await call(allowedPage, open.url, json(null, { credentials: "include" }));
    expect(withCookies.error).toMatch(/^TypeError/);
    const without = await call(allowedPage, open.url, json(null));
    expect(without.status).toBe(200);
    expect(without.body.data.accounts.nodes).toHaveLength(3);
  });

  it("CSRF prevention stays on: simple requests are refused before they run, from any origin", async () => {
    const before = open.seen.length;
    // The allowed origin may read the refusal...
    const posted = await call(allowedPage, open.url, plainText);
    expect(posted.status).toBe(400);
    expect(posted.body.errors[0].message).toMatch(/Cross-Site Request Forgery/);
    expect(posted.body.data).toBeUndefined();
    const got = await call(allowedPage, `${open.url}?query=${encodeURIComponent(QUERY)}`, {});
    expect(got.status).toBe(400);
    expect(got.body.errors[0].message).toMatch(/Cross-Site Request Forgery/);
    // ...another origin cannot even read that.
    const refused = await call(refusedPage, open.url, plainText);
    expect(refused.error).toMatch(/^TypeError/);
    // The browser sent all three without a preflight; Apollo refused each of them.
    const seen = open.seen.slice(before);
    expect(seen.map(({ method, origin, status, data }) => ({ method, origin, status, data }))).toEqual([
      { method: "POST", origin: allowedOrigin, status: 400, data: false },
      { method: "GET", origin: allowedOrigin, status: 400, data: false },
      { method: "POST", origin: refusedOrigin, status: 400, data: false },
    ]);
  });

  it("no page request left the host", () => {
    expect(leaving).toEqual([]);
  });
});
