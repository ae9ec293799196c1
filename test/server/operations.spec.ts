import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SettingsError } from "../../src/auth/settings";
import { buildTrailGraphSchema } from "../../src/schema/build";
import { createApp } from "../../src/server/app";
import { operationHash, operationSettings, type OperationSettings } from "../../src/server/operations";
import { openTestStore, type TestStore } from "../support/harness";

const COUNT = "query Count { events { totalCount } }";

describe("production switches: introspection, field suggestions, trusted documents", () => {
  let store: TestStore;
  let dir: string;
  let manifest: string;
  const apps: FastifyInstance[] = [];

  beforeAll(async () => {
    store = await openTestStore("sqlite");
    await store.ingestEvents([{ eventId: "op-1", eventTime: "2024-01-01T00:00:00Z", eventName: "QueryBill" }]);
    dir = await mkdtemp(join(tmpdir(), "trailgraph-operations-"));
    manifest = join(dir, "manifest.json");
    await writeFile(
      manifest,
      JSON.stringify({
        format: "apollo-persisted-query-manifest",
        version: 1,
        operations: [{ id: operationHash(COUNT), name: "Count", type: "query", body: COUNT }],
      }),
    );
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    await store?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function app(env: Record<string, string>): Promise<FastifyInstance> {
    const operations: OperationSettings = operationSettings(env);
    const created = await createApp({
      dataSource: store.dataSource,
      schema: await buildTrailGraphSchema(),
      operations,
    });
    apps.push(created);
    return created;
  }

  async function post(server: FastifyInstance, body: Record<string, unknown>) {
    const response = await server.inject({
      method: "POST",
      url: "/graphql",
      headers: { "content-type": "application/json" },
      payload: JSON.stringify(body),
    });
    return { status: response.statusCode, body: JSON.parse(response.body) };
  }

  it("answers introspection and suggests fields by default", async () => {
    const server = await app({});
    const schema = await post(server, { query: "{ __schema { queryType { name } } }" });
    expect(schema.body.data).toEqual({ __schema: { queryType: { name: "Query" } } });
    const typo = await post(server, { query: "{ evnts { totalCount } }" });
    expect(typo.body.errors[0].message).toMatch(/Did you mean "events"/);
  });

  it("refuses introspection and gives no suggestion when switched off", async () => {
    const server = await app({ TRAILGRAPH_INTROSPECTION: "false", TRAILGRAPH_FIELD_SUGGESTIONS: "false" });
    const schema = await post(server, { query: "{ __schema { queryType { name } } }" });
    expect(schema.body.data).toBeUndefined();
    expect(schema.body.errors[0].message).toMatch(/introspection/i);
    const typo = await post(server, { query: "{ evnts { totalCount } }" });
    expect(typo.body.errors[0].message).not.toMatch(/Did you mean/);
    expect(typo.body.errors[0].message).toMatch(/evnts/);
    // Everything else still runs.
    expect((await post(server, { query: COUNT })).body.data).toEqual({ events: { totalCount: 1 } });
  });

  it("runs only the manifest's operations, sent whole or by hash, also once they run compiled", async () => {
    const server = await app({ TRAILGRAPH_TRUSTED_DOCUMENTS: manifest });
    // Repeated: the compiled path (src/server/executor.ts) answers operations seen before.
    for (let round = 0; round < 3; round++) {
      const whole = await post(server, { query: COUNT });
      expect(whole).toMatchObject({ status: 200, body: { data: { events: { totalCount: 1 } } } });
      // Trusted operations are priced and counted like any other.
      expect(whole.body.extensions.cost.requested).toBe(11);
      const byHash = await post(server, {
        extensions: { persistedQuery: { version: 1, sha256Hash: operationHash(COUNT) } },
      });
      expect(byHash.body.data).toEqual({ events: { totalCount: 1 } });
      const other = await post(server, { query: "{ events { nodes { eventId eventName } } }" });
      expect(other.status).toBe(403);
      expect(other.body.data).toBeUndefined();
      expect(other.body.errors[0].extensions.code).toBe("OPERATION_NOT_TRUSTED");
      const unknownHash = await post(server, {
        extensions: { persistedQuery: { version: 1, sha256Hash: operationHash("{ accounts { totalCount } }") } },
      });
      expect(unknownHash.body.data).toBeUndefined();
    }
  });

  it("refuses bad settings at start, naming them", async () => {
    expect(() => operationSettings({ TRAILGRAPH_INTROSPECTION: "maybe" })).toThrow(
      new SettingsError("TRAILGRAPH_INTROSPECTION 'maybe' is neither true nor false."),
    );
    const forged = join(dir, "forged.json");
    await writeFile(
      forged,
      JSON.stringify({
        format: "apollo-persisted-query-manifest",
        version: 1,
        operations: [{ id: operationHash(COUNT), body: "{ events { nodes { raw } } }" }],
      }),
    );
    expect(() => operationSettings({ TRAILGRAPH_TRUSTED_DOCUMENTS: forged })).toThrow(
      /operations\[0\]'s id is not the SHA-256 of its body/,
    );
    expect(() => operationSettings({ TRAILGRAPH_TRUSTED_DOCUMENTS: join(dir, "missing.json") })).toThrow(
      /TRAILGRAPH_TRUSTED_DOCUMENTS .*missing\.json: cannot be read/,
    );
  });
});
