/**
 * Malformed requests get client errors in GraphQL's error format, never 500; internal errors
 * reach clients as a request ID, with the details (driver message, SQL) only in the log.
 */
import { PassThrough } from "node:stream";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildTrailGraphSchema } from "../../src/schema/build";
import { createApp } from "../../src/server/app";
import { COMPILE_AFTER } from "../../src/server/executor";
import { samples } from "../support/delivery";
import { openTestStore, type TestStore } from "../support/harness";
import { storesUnderTest } from "../support/stores";

describe.each(storesUnderTest())("errors ($kind)", ({ kind, available }) => {
  let store: TestStore;
  let app: FastifyInstance;
  let log = "";
  beforeAll(async () => {
    if (!available) return;
    store = await openTestStore(kind);
    await store.ingestEvents(samples);
    const stream = new PassThrough();
    stream.on("data", (chunk) => (log += chunk));
    app = await createApp({ dataSource: store.dataSource, schema: await buildTrailGraphSchema(), logger: { stream } });
  });
  afterAll(async () => {
    await app?.close();
    await store?.close();
  });

  const post = async (payload: string, contentType = "application/json") => {
    const response = await app.inject({
      method: "POST",
      url: "/graphql",
      headers: { "content-type": contentType },
      payload,
    });
    return { status: response.statusCode, body: JSON.parse(response.body), text: response.body };
  };

  it.skipIf(!available)("several operations and no operationName: 400, on the compiled path too", async () => {
    const query = "query A { events(first: 1) { totalCount } } query B { accounts { totalCount } }";
    for (let run = 0; run <= COMPILE_AFTER; run++) {
      const answer = await post(JSON.stringify({ query }));
      expect(answer.status).toBe(400);
      expect(answer.body.errors[0].message).toMatch(/operation name/i);
      expect(answer.body.errors[0].extensions.code).toBe("OPERATION_RESOLUTION_FAILURE");
    }
  });

  it.skipIf(!available)("forged cursors of any shape: BAD_USER_INPUT, never the driver's text", async () => {
    const forged = [
      ["evD", 1e16, 5],
      ["evD", -1, 5],
      ["evD", 8.64e15, 5],
      ["evD", 1.5, 5],
      ["evD", "2021-08-01", 5],
      ["evD", null, 5],
      ["evD", 1e12],
      { not: "a list" },
    ].map((value) => Buffer.from(JSON.stringify(value)).toString("base64url"));
    forged.push("%%%", "", "x".repeat(5000));
    for (const cursor of forged) {
      for (const argument of ["after", "before"]) {
        const query = `query($c: String) { events(first: 2, ${argument}: $c) { nodes { eventId } } }`;
        for (let run = 0; run <= COMPILE_AFTER; run++) {
          const answer = await post(JSON.stringify({ query, variables: { c: cursor } }));
          expect(answer.status, answer.text).toBeLessThan(500);
          expect(answer.body.errors?.[0]?.extensions?.code, `${cursor}: ${answer.text}`).toBe("BAD_USER_INPUT");
          expect(answer.text).not.toMatch(/RangeError|Invalid time|SELECT/);
        }
      }
    }
  });

  it.skipIf(!available)(
    "a body that is not JSON, or not a GraphQL request: 4xx in GraphQL's error format",
    async () => {
      for (const [payload, type] of [
        ["{not json", "application/json"],
        ["query=1", "application/x-www-form-urlencoded"],
        [JSON.stringify({ query: 5 }), "application/json"],
        [JSON.stringify([{ query: "{ events { totalCount } }" }]), "application/json"],
      ]) {
        const answer = await post(payload, type);
        expect(answer.status, answer.text).toBeGreaterThanOrEqual(400);
        expect(answer.status, answer.text).toBeLessThan(500);
        expect(answer.body.errors[0].message, answer.text).toEqual(expect.any(String));
        expect(answer.body.errors[0].extensions.code, answer.text).toEqual(expect.any(String));
      }
    },
  );

  it.skipIf(!available)("an internal error says only its request ID; the log has the details", async () => {
    await store.dataSource.query("ALTER TABLE resources RENAME TO resources_gone");
    try {
      const answer = await post(JSON.stringify({ query: "{ resources(first: 3) { nodes { resourceId } } }" }));
      const error = answer.body.errors[0];
      expect(error.extensions.code).toBe("INTERNAL_SERVER_ERROR");
      const requestId = error.extensions.requestId;
      expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
      expect(error.message).toBe(`Internal error; the server's log has the details under request ID ${requestId}.`);
      // Nothing of the failure but its path (the field the client asked for).
      expect(error.path).toEqual(["resources"]);
      expect(JSON.stringify({ ...answer.body, errors: [{ ...error, path: undefined }] })).not.toMatch(
        /resources_gone|resources r\b|SELECT|exist|table|sqlite|\bER_[A-Z]/i,
      );
      // The log: the driver's message, with the same request ID.
      const line = log
        .trim()
        .split("\n")
        .map((text) => JSON.parse(text))
        .find((entry) => entry.reqId === requestId && entry.msg === "GraphQL execution failed");
      expect(line?.err?.message).toMatch(/resources/);
      expect(line?.err?.stack).toEqual(expect.any(String));
      // The request's own line says how it ended.
      const request = log
        .trim()
        .split("\n")
        .map((text) => JSON.parse(text))
        .find((entry) => entry.reqId === requestId && entry.msg === "request");
      expect(request).toMatchObject({ status: 200, code: "INTERNAL_SERVER_ERROR" });
    } finally {
      await store.dataSource.query("ALTER TABLE resources_gone RENAME TO resources");
    }
  });

  it.skipIf(!available)("POST /ingest: a failure of the store says only its request ID", async () => {
    const token = "an-ingest-token-for-the-errors-test";
    const ingestApp = await createApp({
      dataSource: store.dataSource,
      schema: await buildTrailGraphSchema(),
      ingest: { token, maxBytes: 1024 * 1024 },
    });
    await store.dataSource.query("ALTER TABLE event_payloads RENAME TO event_payloads_gone");
    try {
      const response = await ingestApp.inject({
        method: "POST",
        url: "/ingest",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        payload: JSON.stringify([{ ...samples[0], eventId: "errors-spec-ingest-1" }]),
      });
      expect(response.statusCode, response.body).toBe(500);
      expect(JSON.parse(response.body).error).toMatch(
        /^ingest failed; the server's log has the details under request ID [0-9a-f-]{36}\.$/,
      );
    } finally {
      await store.dataSource.query("ALTER TABLE event_payloads_gone RENAME TO event_payloads");
      await ingestApp.close();
    }
  });
});
