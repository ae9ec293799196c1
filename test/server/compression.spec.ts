/**
 * Compressed answers: br or gzip as the client's Accept-Encoding asks, from 1 KiB; plain JSON
 * for a client that does not ask; GraphiQL's page gzipped once; request bodies left to
 * POST /ingest. Over real sockets, decoded by the client as a client would.
 */
import { request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import type { FastifyInstance } from "fastify";
import type { GraphQLSchema } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OPEN } from "../../src/auth/settings";
import { buildTrailGraphSchema } from "../../src/schema/build";
import { createApp } from "../../src/server/app";
import { COMPRESSION_THRESHOLD, compressionSetting } from "../../src/server/compression";
import { gzip, jsonLines } from "../support/delivery";
import { buildEvent } from "../support/event-builder";
import { samples } from "../support/delivery";
import { openTestStore, type TestStore } from "../support/harness";
import { storesUnderTest } from "../support/stores";

const PAGE = JSON.stringify({
  query: "{ events(first: 50) { totalCount nodes { eventId eventName eventTime eventSource sourceIpAddress } } }",
});
const SMALL = JSON.stringify({ query: "{ events(first: 1) { totalCount } }" });
const INGEST_TOKEN = "an-ingest-token-for-the-compression-tests";

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

function send(
  url: string,
  options: { method: "GET" | "POST"; headers?: Record<string, string>; body?: string | Buffer },
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { method: options.method, headers: options.headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () =>
        resolve({ status: response.statusCode!, headers: response.headers, body: Buffer.concat(chunks) }),
      );
    });
    request.on("error", reject);
    request.end(options.body);
  });
}

describe.each(storesUnderTest())("compression ($kind)", ({ kind, available }) => {
  let store: TestStore;
  let schema: GraphQLSchema;
  const apps: FastifyInstance[] = [];
  const listen = async (compression: boolean) => {
    const app = await createApp({
      dataSource: store.dataSource,
      schema,
      auth: OPEN,
      compression,
      ingest: { token: INGEST_TOKEN, maxBytes: 1024 * 1024 },
    });
    apps.push(app);
    await app.listen({ port: 0, host: "127.0.0.1" });
    return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  };
  let base: string;
  beforeAll(async () => {
    if (!available) return;
    store = await openTestStore(kind);
    await store.ingestEvents(samples);
    schema = await buildTrailGraphSchema();
    base = await listen(true);
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    await store?.close();
  });

  const graphql = (body: string, acceptEncoding?: string, url = base) =>
    send(`${url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(acceptEncoding ? { "accept-encoding": acceptEncoding } : {}) },
      body,
    });

  it.skipIf(!available)(
    "a page of 50 events comes back br or gzip, as asked, and decodes to the same JSON",
    async () => {
      const plain = await graphql(PAGE);
      expect(plain.status).toBe(200);
      expect(plain.headers["content-encoding"]).toBeUndefined();
      const json = JSON.parse(plain.body.toString("utf8"));
      expect(json.data.events.nodes).toHaveLength(50);
      expect(plain.body.length).toBeGreaterThan(COMPRESSION_THRESHOLD);

      const gzipped = await graphql(PAGE, "gzip");
      expect(gzipped.headers["content-encoding"]).toBe("gzip");
      expect(gzipped.headers.vary).toMatch(/accept-encoding/i);
      expect(gzipped.body.length).toBeLessThan(plain.body.length / 3);
      expect(JSON.parse(gunzipSync(gzipped.body).toString("utf8"))).toEqual(json);

      const brotli = await graphql(PAGE, "gzip, deflate, br");
      expect(brotli.headers["content-encoding"]).toBe("br");
      expect(brotli.body.length).toBeLessThan(plain.body.length / 3);
      expect(JSON.parse(brotliDecompressSync(brotli.body).toString("utf8"))).toEqual(json);
    },
  );

  it.skipIf(!available)("plain: without Accept-Encoding, below 1 KiB, or with compression off", async () => {
    const small = await graphql(SMALL, "gzip, br");
    expect(small.body.length).toBeLessThan(COMPRESSION_THRESHOLD);
    expect(small.headers["content-encoding"]).toBeUndefined();
    expect(JSON.parse(small.body.toString("utf8")).data.events.totalCount).toBe(samples.length);

    const identity = await graphql(PAGE, "identity");
    expect(identity.headers["content-encoding"]).toBeUndefined();
    expect(JSON.parse(identity.body.toString("utf8")).data.events.nodes).toHaveLength(50);

    const off = await graphql(PAGE, "gzip, br", await listen(false));
    expect(off.headers["content-encoding"]).toBeUndefined();
    expect(JSON.parse(off.body.toString("utf8")).data.events.nodes).toHaveLength(50);
  });

  it.skipIf(!available)("GraphiQL's page is gzipped once", async () => {
    const page = await send(`${base}/graphql`, {
      method: "GET",
      headers: { accept: "text/html", "accept-encoding": "gzip, br" },
    });
    expect(page.status).toBe(200);
    expect(page.headers["content-encoding"]).toBe("gzip");
    // Decoded once, it is the page (twice-gzipped, it would be gzip's bytes again).
    expect(gunzipSync(page.body).toString("utf8").trimStart().slice(0, 15).toLowerCase()).toBe("<!doctype html>");
  });

  it.skipIf(!available)("a gzipped POST /ingest body is decoded by POST /ingest, within its own limits", async () => {
    // Larger than the 1 MiB body limit once decoded, well under it as sent: the limit is on
    // the bytes sent, the decoded size has a limit of its own (it would be refused as too
    // large if anything decoded the body before POST /ingest).
    const events = Array.from({ length: 1500 }, () => buildEvent());
    const text = jsonLines(events);
    expect(text.length).toBeGreaterThan(1024 * 1024);
    const answer = await send(`${base}/ingest`, {
      method: "POST",
      headers: { authorization: `Bearer ${INGEST_TOKEN}`, "content-encoding": "gzip" },
      body: gzip(text),
    });
    expect(answer.status, answer.body.toString("utf8")).toBe(200);
    expect(JSON.parse(answer.body.toString("utf8"))).toMatchObject({ read: 1500, inserted: 1500 });
  });
});

describe("compression setting", () => {
  it("TRAILGRAPH_COMPRESSION: on by default; a bad value names the variable", () => {
    expect(compressionSetting({})).toBe(true);
    expect(compressionSetting({ TRAILGRAPH_COMPRESSION: "off" })).toBe(false);
    expect(() => compressionSetting({ TRAILGRAPH_COMPRESSION: "fast" })).toThrow(
      "TRAILGRAPH_COMPRESSION 'fast' is neither on nor off.",
    );
  });
});
