#!/usr/bin/env node
import "reflect-metadata";
import { parseArgs } from "node:util";
import { storeConfig } from "./db/datasource";
import { loadSamplesIfEmpty, openStore } from "./db/open";
import { ingest, type IngestSummary } from "./ingest/ingest";
import { FileSource } from "./ingest/sources";
import { buildTrailGraphSchema } from "./schema/build";
import { createApp, GRAPHQL_PATH } from "./server/app";
import { generateCommand } from "./generate/command";

const USAGE = `Usage: trailgraph <command> [options]

Commands:
  serve [--port N] [--host H] [--migrate]   serve the GraphQL API (default port 4000, host 127.0.0.1)
  ingest [--account ID] [--json] <file>...  load ActionTrail events (one event, a JSON array, or JSON lines)
  migrate                                   bring the database up to date
  generate --events N --accounts M --seed S --out <folder> [--format ndjson]   write realistic synthetic events (OSS layout by default)

The store is DATABASE_URL: mysql://user:pass@host:port/db (MySQL 8, MariaDB 10.11),
sqlite:<path>, or nothing for the embedded store at ./data/trailgraph.sqlite.
`;

/** Exit codes: 0 all done, 1 some records rejected, 2 usage or connection error. */
class UsageError extends Error {}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "serve":
      return serve(rest);
    case "ingest":
      return ingestCommand(rest);
    case "migrate":
      return migrate(rest);
    case "generate":
      return generateCommand(rest);
    case undefined:
    case "help":
    case "--help":
    case "-h":
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown command '${command}'`);
  }
}

async function serve(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { port: { type: "string" }, host: { type: "string" }, migrate: { type: "boolean" } },
  });
  const port = Number(values.port ?? process.env.PORT ?? 4000);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`--port '${values.port}' is not a port number`);
  const host = values.host ?? process.env.HOST ?? "127.0.0.1";

  // 1. Connect to the store (the embedded one migrates itself).
  const store = await openStore(storeConfig(), { migrate: values.migrate, log });
  log(`store: ${store.config.display}`);
  // 2. On a new embedded store, load the bundled samples so the first query shows data.
  const samples = await loadSamplesIfEmpty(store);
  if (samples) log(`the embedded store was empty: loaded ${samples.inserted} sample events from samples/events.json`);
  // 3. Build the schema once, and the HTTP server around it.
  const app = await createApp({ dataSource: store.dataSource, schema: await buildTrailGraphSchema() });
  // 4. Stop cleanly on SIGINT/SIGTERM: finish requests in flight, then close the store.
  const stop = async () => {
    await app.close();
    await store.dataSource.destroy();
    process.exit(0);
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  await app.listen({ port, host });
  const address = app.server.address();
  const shown = typeof address === "object" && address ? `${host}:${address.port}` : `${host}:${port}`;
  log(`GraphQL API at http://${shown}${GRAPHQL_PATH} (open it in a browser for GraphiQL)`);
  return new Promise<number>(() => {});
}

async function ingestCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { account: { type: "string" }, json: { type: "boolean" }, migrate: { type: "boolean" } },
  });
  if (positionals.length === 0) throw new UsageError("ingest needs at least one file");
  const store = await openStore(storeConfig(), { migrate: values.migrate, log });
  try {
    const summary = await ingest(
      store.dataSource,
      positionals.map((path) => new FileSource(path)),
      { defaultAccountId: values.account ?? null },
    );
    report(summary, Boolean(values.json), store.config.display);
    return summary.rejected.length > 0 ? 1 : 0;
  } finally {
    await store.dataSource.destroy();
  }
}

async function migrate(args: string[]): Promise<number> {
  parseArgs({ args, options: {} });
  const store = await openStore(storeConfig(), { migrate: true, log });
  log(`${store.config.display} is up to date`);
  await store.dataSource.destroy();
  return 0;
}

function report(summary: IngestSummary, json: boolean, target: string): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    return;
  }
  for (const rejection of summary.rejected) {
    process.stderr.write(`rejected ${rejection.source} ${rejection.position}: ${rejection.reason}\n`);
  }
  const seconds = summary.elapsedMs / 1000;
  process.stdout.write(
    `ingested into ${target}: ${summary.sources} file(s), ${summary.read} record(s) read, ` +
      `${summary.inserted} new, ${summary.duplicates} already present, ${summary.rejected.length} rejected ` +
      `in ${seconds.toFixed(1)} s (${Math.round(summary.read / Math.max(seconds, 0.001))} records/s)\n`,
  );
}

function log(message: string): void {
  process.stderr.write(`[trailgraph] ${message}\n`);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`trailgraph: ${message}\n`);
    if (error instanceof UsageError) process.stderr.write(USAGE);
    process.exit(2);
  },
);
