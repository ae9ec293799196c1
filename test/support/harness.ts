import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import type { GraphQLSchema } from "graphql";
import type { DataSource } from "typeorm";
import { inject } from "vitest";
import { statementCounter, storeConfig } from "../../src/db/datasource";
import { openStore } from "../../src/db/open";
import { ingest, type IngestSummary } from "../../src/ingest/ingest";
import { bufferSource, type EventSource } from "../../src/ingest/sources";
import { buildTrailGraphSchema } from "../../src/schema/build";
import { createApp } from "../../src/server/app";
import { DEFAULT_COST_LIMITS, type CostLimitSettings } from "../../src/server/cost-limits";
import { createTestDatabase } from "./mysql-server";
import type { StoreKind } from "./stores";

let schema: Promise<GraphQLSchema> | undefined;

/** A fresh, migrated store of one kind, with the real HTTP app in front of it. */
export interface TestStore {
  kind: StoreKind;
  url: string;
  dataSource: DataSource;
  app: FastifyInstance;
  /** Ingests events given as values (each becomes one record of an array document). */
  ingestEvents(events: unknown[], options?: { defaultAccountId?: string }): Promise<IngestSummary>;
  /** Runs a GraphQL operation through HTTP; returns the parsed body. */
  graphql<T = any>(query: string, variables?: Record<string, unknown>): Promise<GraphQLResponse<T>>;
  /** SQL statements sent since the store opened. */
  statements(): number;
  close(): Promise<void>;
}

export interface GraphQLResponse<T> {
  data?: T;
  errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
}

/**
 * The query limits of src/server/cost-limits.ts as `serve` has them by default, so that every
 * query of the suites is one the defaults let through; without the per-client budget, which a
 * suite sending requests back to back from one address would spend as no client does (it has
 * its own tests, test/server/cost.spec.ts).
 */
export const TEST_COST_LIMITS: CostLimitSettings = { ...DEFAULT_COST_LIMITS, budget: null };

export interface TestAppOptions {
  /** Query limits (TEST_COST_LIMITS by default). */
  cost?: CostLimitSettings;
}

export async function openTestStore(kind: StoreKind, options: TestAppOptions = {}): Promise<TestStore> {
  let url: string;
  let cleanup: () => Promise<void>;
  if (kind === "mysql") {
    const server = inject("mysqlUrl");
    if (!server) throw new Error("no MySQL server for this run");
    const database = await createTestDatabase(server);
    url = database.url;
    cleanup = database.drop;
  } else {
    const dir = await mkdtemp(join(tmpdir(), "trailgraph-test-"));
    url = `sqlite:${join(dir, "store.sqlite")}`;
    cleanup = () => rm(dir, { recursive: true, force: true });
  }
  const opened = await openTestApp(url, { migrate: true, ...options });
  const counter = statementCounter(opened.dataSource);
  return {
    kind,
    url,
    dataSource: opened.dataSource,
    app: opened.app,
    ingestEvents: (events, options) => ingest(opened.dataSource, [arraySource(events)], options),
    graphql: opened.graphql,
    statements: () => counter.count,
    async close() {
      await opened.close();
      await cleanup();
    },
  };
}

/** The real HTTP app on the store at `url` (configured from the environment as it is now). */
export interface TestApp {
  dataSource: DataSource;
  app: FastifyInstance;
  /** Runs a GraphQL operation through HTTP; returns the parsed body. */
  graphql<T = any>(query: string, variables?: Record<string, unknown>): Promise<GraphQLResponse<T>>;
  /** Closes the app and the store's connections (the database stays). */
  close(): Promise<void>;
}

export async function openTestApp(url: string, options: { migrate: boolean } & TestAppOptions): Promise<TestApp> {
  const store = await openStore(storeConfig(url), { migrate: options.migrate });
  schema ??= buildTrailGraphSchema();
  const app = await createApp({
    dataSource: store.dataSource,
    schema: await schema,
    cost: options.cost ?? TEST_COST_LIMITS,
  });
  return {
    dataSource: store.dataSource,
    app,
    async graphql(query, variables) {
      const response = await app.inject({
        method: "POST",
        url: "/graphql",
        headers: { "content-type": "application/json" },
        payload: JSON.stringify({ query, variables }),
      });
      return JSON.parse(response.body);
    },
    async close() {
      await app.close();
      await store.dataSource.destroy();
    },
  };
}

export function arraySource(events: unknown[], name = "test-input.json"): EventSource {
  return bufferSource(name, JSON.stringify(events));
}

/** Fails with the GraphQL errors when a response has any; returns its data. */
export function dataOf<T>(response: GraphQLResponse<T>): T {
  if (response.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(response.errors)}`);
  return response.data as T;
}
