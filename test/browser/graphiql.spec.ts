/**
 * GraphiQL in a real browser (headless Chromium): the page GET /graphql serves to a browser
 * loads with no request leaving the host (every request it and its workers make is recorded;
 * one to any address but loopback fails the test), runs its default query with the ▶ button
 * and shows the data in the result pane; with authentication on, a person types a token into
 * the headers pane and sees only that token's accounts.
 */
import { readFileSync } from "node:fs";
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
import { CORS_OFF } from "../../src/server/cors";
import { chromiumForTests, launchChromium, recordRequests, type TestBrowser } from "../support/chromium";
import { openTestStore, type TestStore } from "../support/harness";

const chromium = chromiumForTests("test/browser/graphiql.spec.ts");

const samples = JSON.parse(readFileSync("samples/events.json", "utf8")) as Array<Record<string, unknown>>;
const accountsOf = [...new Set(samples.map((event) => normalizeEvent(event).accountId))];
const A = "151266687691****";
const OTHERS = accountsOf.filter((account): account is string => account !== null && account !== A);
const SECRET = "a-shared-secret-of-at-least-32-bytes-for-graphiql";

const RESULT_LINES = ".result-window .view-line";
const HEADERS_EDITOR = '.graphiql-editor:not(.hidden) .monaco-editor[data-uri$="headers.json"]';

/**
 * The text an editor shows, line by line. Monaco draws only the lines in view (and wraps long
 * ones), so the page is made tall and wide enough to show a whole answer.
 */
async function editorText(page: Page, lines: string): Promise<string> {
  const shown = (await page.$$eval(lines, (elements) =>
    elements.map((element) => [element.getBoundingClientRect().top, element.textContent ?? ""] as const),
  )) as Array<readonly [number, string]>;
  return [...shown]
    .sort((a, b) => a[0] - b[0])
    .map(([, text]) => text.replace(/\u00a0/g, " "))
    .join("\n");
}

/** Waits until the result pane shows a whole JSON answer that `wanted` accepts; returns it. */
async function resultOf(page: Page, wanted: (answer: any) => boolean): Promise<{ answer: any; text: string }> {
  const deadline = Date.now() + 30_000;
  let text = "";
  for (;;) {
    text = await editorText(page, RESULT_LINES);
    try {
      const answer = JSON.parse(text);
      if (wanted(answer)) return { answer, text };
    } catch {
      // Not drawn yet, or not whole.
    }
    if (Date.now() > deadline) throw new Error(`the result pane does not show the answer awaited:\n${text}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

interface GraphiQL {
  page: Page;
  requests: { all: string[]; leaving: string[] };
  /** The requests to /graphql: method, and the Authorization header sent. */
  graphql: Array<{ method: string; authorization: string | undefined }>;
}

describe.skipIf(!chromium)("GraphiQL in headless Chromium", () => {
  let store: TestStore;
  let schema: GraphQLSchema;
  let chrome: TestBrowser;
  const apps: FastifyInstance[] = [];
  /** GraphiQL of a server in open mode, and of one with authentication on (loaded side by side). */
  let open: GraphiQL;
  let secured: GraphiQL;

  async function serveTrailGraph(auth: AuthSettings): Promise<string> {
    const app = await createApp({
      dataSource: store.dataSource,
      schema,
      auth,
      cors: CORS_OFF,
      ingest: { token: null, maxBytes: 1024 * 1024 },
    });
    apps.push(app);
    await app.listen({ port: 0, host: "127.0.0.1" });
    return `http://localhost:${(app.server.address() as AddressInfo).port}/graphql`;
  }

  /** GraphiQL at `url`, loaded, with every request it makes recorded. */
  async function openGraphiQL(url: string): Promise<GraphiQL> {
    const page = await chrome.browser.newPage();
    await page.setViewport({ width: 1800, height: 7000 });
    const requests = await recordRequests(page);
    const graphql: Array<{ method: string; authorization: string | undefined }> = [];
    page.on("request", (request) => {
      if (request.url() === url)
        graphql.push({ method: request.method(), authorization: request.headers().authorization });
    });
    await page.goto(url, { waitUntil: "load" });
    expect(await page.title()).toBe("TrailGraph");
    await page.waitForSelector(".graphiql-execute-button", { timeout: 30_000 });
    return { page, requests, graphql };
  }

  beforeAll(async () => {
    store = await openTestStore("sqlite");
    await store.ingestEvents(samples);
    schema = await buildTrailGraphSchema();
    chrome = await launchChromium(chromium!);
    const urls = [await serveTrailGraph(OPEN), await serveTrailGraph(authSettings({ TRAILGRAPH_JWT_SECRET: SECRET }))];
    [open, secured] = await Promise.all(urls.map(openGraphiQL));
  });
  afterAll(async () => {
    await chrome?.close();
    for (const app of apps) await app.close();
    await store?.close();
  });

  it("loads with no request leaving the host, runs its default query and shows the data", async () => {
    const { page, requests, graphql } = open;
    await page.bringToFront();
    await page.click(".graphiql-execute-button");
    const { answer } = await resultOf(page, (answer) => answer.data !== undefined || answer.errors !== undefined);
    expect(answer.errors).toBeUndefined();
    const accounts = answer.data.accounts.nodes;
    expect(accounts.map((node: any) => node.accountId).sort()).toEqual([A, ...OTHERS].sort());
    // The documentation's sample purchase: account → order → instance → its events.
    const order = accounts.find((node: any) => node.accountId === A).orders.nodes[0];
    expect(order.items[0].resource.type).toBe("ACS::ECS::Instance");
    expect(order.items[0].resource.events.nodes.length).toBeGreaterThan(0);

    expect(graphql.filter((request) => request.method === "POST").length).toBeGreaterThan(0);
    expect(requests.all.length).toBeGreaterThan(1);
    expect(requests.leaving).toEqual([]);
  });

  it("with authentication on, a token typed into the headers pane shows only its accounts", async () => {
    const { page, requests } = secured;
    await page.bringToFront();

    // The page holds no data: without a credential the query is refused.
    await page.click(".graphiql-execute-button");
    const refused = await resultOf(page, (answer) => answer.errors !== undefined);
    expect(refused.answer.data).toBeUndefined();
    expect(refused.answer.errors[0].extensions.code).toBe("UNAUTHENTICATED");

    const token = await new SignJWT({ sub: "explorer", exp: Math.floor(Date.now() / 1000) + 600, accounts: [A] })
      .setProtectedHeader({ alg: "HS256" })
      .sign(new TextEncoder().encode(SECRET));
    await page.click('.graphiql-editor-tools button[data-name="headers"]');
    await page.waitForSelector(HEADERS_EDITOR);
    await page.click(`${HEADERS_EDITOR} .view-lines`);
    // Typed key by key, the token pasted (inserted whole, as a paste does).
    await page.keyboard.type(`{"Authorization": "Bearer `);
    await page.keyboard.sendCharacter(token);
    await page.keyboard.type(`"}`);
    expect(JSON.parse(await editorText(page, `${HEADERS_EDITOR} .view-line`))).toEqual({
      Authorization: `Bearer ${token}`,
    });

    await page.click(".graphiql-execute-button");
    const { answer, text } = await resultOf(page, (answer) => answer.data !== undefined);
    expect(answer.errors).toBeUndefined();
    expect(answer.data.accounts.nodes.map((node: any) => node.accountId)).toEqual([A]);
    expect(answer.data.accounts.nodes[0].orders.nodes.length).toBeGreaterThan(0);
    for (const other of OTHERS) expect(text).not.toContain(other);
    expect(requests.leaving).toEqual([]);
  });
});
