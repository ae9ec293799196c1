/**
 * POST /ingest (issue 3, "Over HTTP"): off without a token, 401 without the right one, the
 * same formats as the CLI (plain or gzip, whatever the content type; deflate and br by
 * Content-Encoding, 415 for an encoding it cannot undo), the ingest summary as the answer,
 * 413 above the size limit or the decoded size limit, 400 for an empty body, 422 with the
 * rejects listed for malformed records (the good ones stored, the bad ones queryable as
 * ingestRejects).
 */
import { readFileSync } from "node:fs";
import { brotliCompressSync, createGzip, deflateRawSync, deflateSync, gzipSync } from "node:zlib";
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import type { GraphQLSchema } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildTrailGraphSchema } from "../../src/schema/build";
import { createApp } from "../../src/server/app";
import { dataOf, openTestStore, type TestStore } from "../support/harness";
import { storesUnderTest } from "../support/stores";
import { countRows } from "../support/tables";

const samples = JSON.parse(readFileSync("samples/events.json", "utf8")) as Array<Record<string, unknown>>;
const TOKEN = "s3cret-ingest-token-for-tests";
const LIMIT = 256 * 1024;

let schema: Promise<GraphQLSchema> | undefined;

/** Events with IDs of their own (`<prefix>-<n>`), so that every test writes new events. */
function fresh(prefix: string, from: number, to: number): Array<Record<string, unknown>> {
  return samples.slice(from, to).map((event, index) => ({ ...event, eventId: `${prefix}-${index}` }));
}

const ids = (events: Array<Record<string, unknown>>) => events.map((event) => event.eventId as string);
const jsonLines = (values: unknown[]) => values.map((value) => `${JSON.stringify(value)}\n`).join("");

describe.each(storesUnderTest())("POST /ingest ($kind)", ({ kind, available }) => {
  let store: TestStore;
  let off: FastifyInstance;
  let on: FastifyInstance;

  beforeAll(async () => {
    if (!available) return;
    store = await openTestStore(kind);
    schema ??= buildTrailGraphSchema();
    off = await createApp({
      dataSource: store.dataSource,
      schema: await schema,
      ingest: { token: null, maxBytes: LIMIT },
    });
    on = await createApp({
      dataSource: store.dataSource,
      schema: await schema,
      ingest: { token: TOKEN, maxBytes: LIMIT },
    });
  });
  afterAll(async () => {
    await off?.close();
    await on?.close();
    await store?.close();
  });

  function post(
    body: string | Buffer,
    headers: Record<string, string> = {},
    app: FastifyInstance = on,
  ): Promise<LightMyRequestResponse> {
    return app.inject({
      method: "POST",
      url: "/ingest",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json", ...headers },
      payload: body,
    });
  }

  /** The stored events among `eventIds`, read back through GraphQL. */
  async function stored(eventIds: string[]): Promise<string[]> {
    const found: string[] = [];
    for (const eventId of eventIds) {
      const data = dataOf(await store.graphql(`query($id: ID!) { event(eventId: $id) { eventId } }`, { id: eventId }));
      if (data.event) found.push(data.event.eventId);
    }
    return found;
  }

  const totals = async () => ({
    events: await countRows(store.dataSource, "events"),
    rejects: await countRows(store.dataSource, "ingest_rejects"),
  });

  function expectSummary(response: LightMyRequestResponse, status: number, counts: Record<string, unknown>) {
    expect(response.statusCode, response.body).toBe(status);
    expect(response.headers["content-type"]).toMatch(/^application\/json/);
    const answer = JSON.parse(response.body);
    expect(answer).toMatchObject(counts);
    for (const field of ["read", "inserted", "duplicates", "rejected", "elapsedMs", "bytes"]) {
      expect(typeof answer[field], field).toBe("number");
    }
    expect(Array.isArray(answer.rejects)).toBe(true);
    return answer;
  }

  it.skipIf(!available)("is off without a configured token: 404 that says how to turn it on", async () => {
    const before = await totals();
    const response = await post(JSON.stringify(fresh("off", 0, 3)), {}, off);
    expect(response.statusCode).toBe(404);
    expect(JSON.parse(response.body).error).toMatch(/TRAILGRAPH_INGEST_TOKEN/);
    expect(await totals()).toEqual(before);
  });

  it.skipIf(!available)("without the right bearer token: 401 and nothing stored", async () => {
    const events = fresh("unauthorized", 0, 3);
    const before = await totals();
    const wrong = [
      {},
      { authorization: "" },
      { authorization: "Bearer" },
      { authorization: "Bearer wrong" },
      { authorization: `Bearer ${TOKEN.replace(/.$/, "X")}` }, // same length, last character differs
      { authorization: `Bearer ${TOKEN}x` },
      { authorization: `Basic ${Buffer.from(`user:${TOKEN}`).toString("base64")}` },
      { authorization: TOKEN },
    ];
    for (const headers of wrong) {
      const response = await on.inject({
        method: "POST",
        url: "/ingest",
        headers: { "content-type": "application/json", ...headers },
        payload: JSON.stringify(events),
      });
      expect(response.statusCode, JSON.stringify(headers)).toBe(401);
      expect(response.headers["www-authenticate"]).toMatch(/^Bearer/);
      expect(JSON.parse(response.body).error).toMatch(/Authorization: Bearer/);
    }
    expect(await totals()).toEqual(before);
    expect(await stored(ids(events))).toEqual([]);
  });

  it.skipIf(!available)(
    "the token is checked before the body is read: 404/401 even for a body over the limit",
    async () => {
      const before = await totals();
      const huge = Buffer.alloc(LIMIT * 2, " ");
      expect((await post(huge, {}, off)).statusCode).toBe(404);
      expect((await post(huge, { authorization: "Bearer wrong" })).statusCode).toBe(401);
      expect((await post(huge, { authorization: "" })).statusCode).toBe(401);
      // Nor does an unauthenticated push learn anything from a malformed Content-Type.
      expect((await post("[]", { authorization: "Bearer wrong", "content-type": "bogus" })).statusCode).toBe(401);
      expect(await totals()).toEqual(before);
    },
  );

  it.skipIf(!available)("a JSON array: 200 with the summary, the events queryable", async () => {
    const events = fresh("array", 0, 12);
    const answer = expectSummary(await post(JSON.stringify(events)), 200, {
      read: 12,
      inserted: 12,
      duplicates: 0,
      rejected: 0,
      rejects: [],
      damaged: [],
    });
    expect(answer).not.toHaveProperty("skipped");
    expect(await stored(ids(events))).toEqual(ids(events));
  });

  it.skipIf(!available)("JSON lines, with a case-insensitive scheme and a charset", async () => {
    const events = fresh("lines", 12, 24);
    expectSummary(
      await post(jsonLines(events), {
        authorization: `bearer ${TOKEN}`,
        "content-type": "application/x-ndjson; charset=utf-8",
      }),
      200,
      { read: 12, inserted: 12, duplicates: 0, rejected: 0 },
    );
    expect(await stored(ids(events))).toEqual(ids(events));
  });

  it.skipIf(!available)(
    "an SLS batch (records with the event as a JSON string), as an array and as lines",
    async () => {
      const events = fresh("sls", 24, 36);
      const records = events.map((event, index) => ({
        __topic__: "actiontrail_audit_event",
        __source__: "actiontrail",
        __time__: String(1_700_000_000 + index),
        event: JSON.stringify(event),
      }));
      expectSummary(await post(JSON.stringify(records.slice(0, 6))), 200, { read: 6, inserted: 6, rejected: 0 });
      expectSummary(await post(jsonLines(records.slice(6))), 200, { read: 6, inserted: 6, rejected: 0 });
      expect(await stored(ids(events))).toEqual(ids(events));
    },
  );

  it.skipIf(!available)("a LookupEvents response", async () => {
    const events = fresh("lookup", 36, 42);
    const page = { RequestId: "5E6D2E3A-0000", NextToken: "", Events: events };
    expectSummary(await post(JSON.stringify(page)), 200, { read: 6, inserted: 6, rejected: 0 });
    expect(await stored(ids(events))).toEqual(ids(events));
  });

  it.skipIf(!available)("a gzip body, with Content-Encoding: gzip and without it", async () => {
    const withHeader = fresh("gzip-header", 42, 54);
    const withoutHeader = fresh("gzip-bare", 54, 67);
    const body = gzipSync(JSON.stringify(withHeader));
    expectSummary(await post(body, { "content-encoding": "gzip" }), 200, {
      read: withHeader.length,
      inserted: withHeader.length,
      rejected: 0,
      bytes: body.length,
    });
    expectSummary(await post(gzipSync(jsonLines(withoutHeader)), { "content-type": "application/octet-stream" }), 200, {
      read: withoutHeader.length,
      inserted: withoutHeader.length,
      rejected: 0,
    });
    expect(await stored(ids(withHeader))).toEqual(ids(withHeader));
    expect(await stored(ids(withoutHeader))).toEqual(ids(withoutHeader));
  });

  it.skipIf(!available)(
    "Content-Encoding deflate (zlib and raw), br, x-gzip, identity, and codings in a row",
    async () => {
      const cases: Array<[string, (text: string) => Buffer]> = [
        ["deflate", (text) => deflateSync(text)],
        ["deflate", (text) => deflateRawSync(text)], // what some clients send as deflate
        ["br", (text) => brotliCompressSync(text)],
        ["BR", (text) => brotliCompressSync(text)],
        ["x-gzip", (text) => gzipSync(text)],
        ["identity", (text) => Buffer.from(text)],
        // Applied in the order listed: deflate first, then br.
        ["deflate, br", (text) => brotliCompressSync(deflateSync(text))],
        ["gzip,identity,br", (text) => brotliCompressSync(gzipSync(text))],
        // A gzip file sent with a transfer coding on top.
        ["br", (text) => brotliCompressSync(gzipSync(text))],
      ];
      for (const [index, [encoding, encode]] of cases.entries()) {
        const events = fresh(`encoding-${index}`, index * 5, index * 5 + 5);
        const body = encode(index % 2 ? jsonLines(events) : JSON.stringify(events));
        const response = await post(body, { "content-encoding": encoding });
        expect(response.statusCode, `${encoding}: ${response.body}`).toBe(200);
        expectSummary(response, 200, { read: 5, inserted: 5, rejected: 0, damaged: [], bytes: body.length });
        expect(await stored(ids(events)), encoding).toEqual(ids(events));
      }
    },
  );

  it.skipIf(!available)(
    "an unknown Content-Encoding: 415 naming it and the supported ones, nothing stored",
    async () => {
      const events = fresh("unknown-encoding", 0, 3);
      const before = await totals();
      for (const encoding of ["compress", "zstd", "gzip, bogus", "x-snappy", "constructor"]) {
        const response = await post(JSON.stringify(events), { "content-encoding": encoding });
        expect(response.statusCode, encoding).toBe(415);
        expect(response.headers["accept-encoding"]).toBe("gzip, deflate, br");
        const message = JSON.parse(response.body).error as string;
        expect(message).toContain(`'${encoding.split(",").pop()!.trim()}'`);
        expect(message).toMatch(/gzip.*deflate.*br/);
      }
      // Without the token it is still 401: nothing is said about encodings to an unauthenticated push.
      expect((await post("[]", { authorization: "Bearer wrong", "content-encoding": "zstd" })).statusCode).toBe(401);
      expect(await totals()).toEqual(before);
      expect(await stored(ids(events))).toEqual([]);
    },
  );

  it.skipIf(!available)("a damaged deflate or br body: 422, what was decoded before the damage kept", async () => {
    const events = fresh("damaged-br", 0, 8);
    const whole = brotliCompressSync(jsonLines(events));
    const cut = whole.subarray(0, Math.floor(whole.length / 2));
    const answer = expectSummary(await post(cut, { "content-encoding": "br" }), 422, {});
    expect(answer.damaged).toEqual([{ source: expect.stringMatching(/^http:/), reason: expect.stringMatching(/br/) }]);
    const before = await totals();
    const garbage = expectSummary(
      await post(Buffer.from("not deflate at all"), { "content-encoding": "deflate" }),
      422,
      {
        inserted: 0,
      },
    );
    expect(garbage.damaged).toHaveLength(1);
    expect((await totals()).events).toBe(before.events);
  });

  it.skipIf(!available)(
    "a small body that decodes to more than the decoded limit: 413 before anything is stored",
    async () => {
      const DECODED = 64 * 1024;
      const strict = await createApp({
        dataSource: store.dataSource,
        schema: await schema!,
        ingest: { token: TOKEN, maxBytes: LIMIT, maxDecodedBytes: DECODED },
      });
      try {
        // Valid events first, then padding: nothing of it may be stored.
        const events = fresh("decoded-limit", 0, 5);
        const text = jsonLines(events) + " ".repeat(DECODED);
        const before = await totals();
        for (const [encoding, body] of [
          ["gzip", gzipSync(text)],
          ["", gzipSync(gzipSync(text))], // gzip by content, nested
          ["deflate", deflateSync(text)],
          ["br", brotliCompressSync(text)],
          ["br", brotliCompressSync(gzipSync(text))],
        ] as const) {
          expect(body.length).toBeLessThan(DECODED / 8);
          const response = await post(body, encoding ? { "content-encoding": encoding } : {}, strict);
          expect(response.statusCode, `${encoding}: ${response.body}`).toBe(413);
          const message = JSON.parse(response.body).error as string;
          expect(message).toContain(String(DECODED));
          expect(message).toMatch(/TRAILGRAPH_INGEST_MAX_DECODED_BYTES/);
        }
        // A plain body over the decoded limit (and under the limit as sent) too.
        expect((await post(text, {}, strict)).statusCode).toBe(413);
        expect(await totals()).toEqual(before);
        expect(await stored(ids(events))).toEqual([]);

        // Just under it is fine.
        const fitting = jsonLines(events).padEnd(DECODED, " ");
        expectSummary(await post(brotliCompressSync(fitting), { "content-encoding": "br" }, strict), 200, {
          read: 5,
          inserted: 5,
        });
      } finally {
        await strict.close();
      }
    },
  );

  it.skipIf(!available)(
    "a body that expands a thousandfold is decoded and read as a stream, within the default decoded limit",
    async () => {
      // 160 MiB of whitespace after the events, sent as about 160 KB of gzip (made by streaming).
      const events = fresh("expanding", 0, 4);
      const gzip = await new Promise<Buffer>((resolve, reject) => {
        const zip = createGzip({ level: 9 });
        const parts: Buffer[] = [];
        zip.on("data", (part: Buffer) => parts.push(part));
        zip.on("end", () => resolve(Buffer.concat(parts)));
        zip.on("error", reject);
        zip.write(jsonLines(events));
        const mib = Buffer.alloc(1024 * 1024, " ");
        for (let i = 0; i < 160; i++) zip.write(mib);
        zip.end();
      });
      expect(gzip.length).toBeLessThan(LIMIT);
      const rssBefore = process.memoryUsage().rss;
      expectSummary(await post(gzip, { "content-encoding": "gzip" }), 200, { read: 4, inserted: 4 });
      // Not held decoded: far less than the 160 MB it expands to.
      expect(process.memoryUsage().rss - rssBefore).toBeLessThan(100 * 1024 * 1024);
      expect(await stored(ids(events))).toEqual(ids(events));
    },
  );

  it.skipIf(!available)("the same body again: inserted 0, every event a duplicate, nothing added", async () => {
    const events = fresh("again", 0, 20);
    const body = gzipSync(JSON.stringify(events));
    expectSummary(await post(body, { "content-encoding": "gzip" }), 200, { read: 20, inserted: 20, duplicates: 0 });
    const before = await totals();
    expectSummary(await post(body, { "content-encoding": "gzip" }), 200, { read: 20, inserted: 0, duplicates: 20 });
    expectSummary(await post(jsonLines(events)), 200, { read: 20, inserted: 0, duplicates: 20 });
    expect(await totals()).toEqual(before);
  });

  it.skipIf(!available)("any content type, or none, is read by its content", async () => {
    // Clients send all sorts: an empty header, a bare word, form types.
    const types = [
      "application/json",
      "application/x-ndjson",
      "text/plain",
      "application/octet-stream",
      null,
      "",
      "json",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=x",
    ];
    for (const [index, type] of types.entries()) {
      const events = fresh(`type-${index}`, index * 6, index * 6 + 5);
      const response = await on.inject({
        method: "POST",
        url: "/ingest",
        headers: { authorization: `Bearer ${TOKEN}`, ...(type === null ? {} : { "content-type": type }) },
        // A Buffer payload gets no content type from inject: `null` really sends none.
        payload: Buffer.from(index % 2 ? jsonLines(events) : JSON.stringify(events)),
      });
      expect(response.statusCode, `${JSON.stringify(type)}: ${response.body}`).toBe(200);
      expectSummary(response, 200, { read: 5, inserted: 5, rejected: 0 });
      expect(await stored(ids(events)), String(type)).toEqual(ids(events));
    }
  });

  it.skipIf(!available)("a body over the limit: 413 with a clear message, nothing stored", async () => {
    // Valid events, a little more than the limit: plain, then gzip (the limit is on the bytes sent).
    const events: Array<Record<string, unknown>> = [];
    let text = "[]";
    while (Buffer.byteLength(text) <= LIMIT) {
      events.push({ ...samples[events.length % samples.length], eventId: `too-large-${events.length}` });
      text = JSON.stringify(events);
    }
    const before = await totals();
    const plain = await post(text);
    expect(plain.statusCode).toBe(413);
    const message = JSON.parse(plain.body).error as string;
    expect(message).toContain(String(LIMIT));
    expect(message).toMatch(/TRAILGRAPH_INGEST_MAX_BYTES/);
    expect(message).toMatch(/[Ss]plit/);

    const noise = Buffer.from(Array.from({ length: LIMIT + 1024 }, (_, i) => (i * 7919) % 251));
    const gzipped = Buffer.concat([gzipSync(text), noise]);
    expect((await post(gzipped, { "content-encoding": "gzip" })).statusCode).toBe(413);
    expect(await totals()).toEqual(before);
    expect(await stored(ids(events.slice(0, 3)))).toEqual([]);

    // Just under it is fine.
    const fitting = fresh("fits", 0, 3);
    expectSummary(await post(JSON.stringify(fitting).padEnd(LIMIT - 1, " ")), 200, { inserted: 3 });
  });

  it.skipIf(!available)("the configured limit holds above the server's 1 MiB default for other routes", async () => {
    const roomy = await createApp({
      dataSource: store.dataSource,
      schema: await schema!,
      ingest: { token: TOKEN, maxBytes: 3 * 1024 * 1024 },
    });
    try {
      const events = fresh("roomy", 3, 6);
      const body = JSON.stringify(events).padEnd(2 * 1024 * 1024, " ");
      expectSummary(await post(body, {}, roomy), 200, { read: 3, inserted: 3 });
      expect((await post(body.padEnd(3 * 1024 * 1024 + 1, " "), {}, roomy)).statusCode).toBe(413);
    } finally {
      await roomy.close();
    }
  });

  it.skipIf(!available)("an empty body: 400, nothing stored", async () => {
    const before = await totals();
    const variants: Array<Record<string, string>> = [
      {},
      { "content-type": "text/plain" },
      { "content-type": "" },
      { "content-type": "bogus" },
    ];
    for (const headers of variants) {
      const response = await post("", headers);
      expect(response.statusCode, JSON.stringify(headers)).toBe(400);
      expect(JSON.parse(response.body).error).toMatch(/empty/);
    }
    expect(await totals()).toEqual(before);
  });

  it.skipIf(!available)("a body that is not JSON: 422, the record rejected with its position and reason", async () => {
    const before = await totals();
    const response = await post("this is not json at all", { "content-type": "text/plain" });
    const answer = expectSummary(response, 422, { read: 1, inserted: 0, rejected: 1 });
    expect(answer.rejects).toEqual([
      expect.objectContaining({
        source: expect.stringMatching(/^http:/),
        position: expect.any(String),
        reason: expect.stringMatching(/not valid JSON/),
      }),
    ]);
    const after = await totals();
    expect(after.events).toBe(before.events);
    expect(after.rejects).toBe(before.rejects + 1);
  });

  it.skipIf(!available)(
    "good and bad records mixed: 422, the good ones stored, the bad ones listed and in ingestRejects",
    async () => {
      const good = fresh("mixed", 0, 3);
      const { eventId: _omitted, ...withoutId } = samples[5];
      const lines = [
        JSON.stringify(good[0]), //                              line 1
        '{"eventId": "broken", "eventTime": ', //                line 2: cut short
        JSON.stringify(good[1]), //                              line 3
        JSON.stringify(withoutId), //                            line 4: no eventId
        JSON.stringify({ ...good[2], eventId: "mixed-bad-time", eventTime: "yesterday" }), // line 5
        JSON.stringify(good[2]), //                              line 6
      ];
      const response = await post(gzipSync(lines.join("\n")), { "content-encoding": "gzip" });
      const answer = expectSummary(response, 422, { read: 6, inserted: 3, duplicates: 0, rejected: 3 });
      const rejects = answer.rejects as Array<{ source: string; position: string; reason: string; text?: string }>;
      expect(rejects.map(({ position, reason }) => ({ position, reason }))).toEqual([
        { position: "line 2", reason: expect.stringMatching(/not valid JSON/) },
        { position: "line 4", reason: expect.stringMatching(/no eventId/) },
        { position: "line 5", reason: expect.stringMatching(/eventTime "yesterday"/) },
      ]);
      const source = rejects[0].source;
      expect(source).toMatch(/^http:/);
      expect(new Set(rejects.map((reject) => reject.source))).toEqual(new Set([source]));
      expect(rejects[1].text).toContain(String(samples[5].eventName));
      expect(await stored([...ids(good), "broken", "mixed-bad-time"])).toEqual(ids(good));

      const listed = dataOf(
        await store.graphql("{ ingestRejects(first: 50) { totalCount nodes { source position reason text } } }"),
      ).ingestRejects;
      const ours = listed.nodes.filter((node: { source: string }) => node.source === source);
      expect(ours.map(({ position, reason }: { position: string; reason: string }) => ({ position, reason }))).toEqual(
        expect.arrayContaining([
          { position: "line 2", reason: expect.stringMatching(/not valid JSON/) },
          { position: "line 4", reason: expect.stringMatching(/no eventId/) },
          { position: "line 5", reason: expect.stringMatching(/eventTime "yesterday"/) },
        ]),
      );
      expect(ours).toHaveLength(3);
      expect(ours.find((node: { position: string }) => node.position === "line 2").text).toContain('"broken"');
    },
  );

  it.skipIf(!available)("through a real socket: fetch with a gzip body", async () => {
    const served = await createApp({
      dataSource: store.dataSource,
      schema: await schema!,
      ingest: { token: TOKEN, maxBytes: LIMIT },
    });
    try {
      await served.listen({ port: 0, host: "127.0.0.1" });
      const address = served.server.address();
      if (address === null || typeof address === "string") throw new Error("no TCP address");
      const events = fresh("socket", 10, 30);
      const response = await fetch(`http://127.0.0.1:${address.port}/ingest`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${TOKEN}`,
          "content-type": "application/json",
          "content-encoding": "gzip",
        },
        body: gzipSync(JSON.stringify(events)),
      });
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ read: 20, inserted: 20, duplicates: 0, rejected: 0 });
      expect(await stored(ids(events))).toEqual(ids(events));

      const refused = await fetch(`http://127.0.0.1:${address.port}/ingest`, {
        method: "POST",
        headers: { "content-encoding": "gzip" },
        body: gzipSync(JSON.stringify(fresh("socket-refused", 0, 2))),
      });
      expect(refused.status).toBe(401);
      expect(await stored(ids(fresh("socket-refused", 0, 2)))).toEqual([]);
    } finally {
      await served.close();
    }
  });
});
