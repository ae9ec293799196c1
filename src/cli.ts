#!/usr/bin/env node
import "reflect-metadata";
import { parseArgs } from "node:util";
import { storeConfig } from "./db/datasource";
import { loadSamplesIfEmpty, openStore } from "./db/open";
import { ingestCommand, INGEST_USAGE, UsageError } from "./ingest/command";
import { buildTrailGraphSchema } from "./schema/build";
import { createApp, GRAPHQL_PATH, ingestSettings } from "./server/app";
import { generateCommand } from "./generate/command";

const USAGE = `Usage: trailgraph <command> [options]

Commands:
  serve [--port N] [--host H] [--migrate]
      serve the GraphQL API (default port 4000, host 127.0.0.1); POST /ingest when
      TRAILGRAPH_INGEST_TOKEN is set
  ${INGEST_USAGE.replace(/\n/g, "\n  ")}
  migrate
      bring the database up to date
  generate --events N --accounts M --seed S --out <folder> [--format ndjson] [--multi-account]
      write realistic synthetic events (OSS delivery layout by default)

The store is DATABASE_URL: mysql://user:pass@host:port/db (MySQL 8, MariaDB 10.11),
sqlite:<path>, or nothing for the embedded store at ./data/trailgraph.sqlite.
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "serve":
      return serve(rest);
    case "ingest":
      return ingestCommand(rest, log);
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
  log(
    ingestSettings().token ? `POST http://${shown}/ingest is on` : "POST /ingest is off (set TRAILGRAPH_INGEST_TOKEN)",
  );
  return new Promise<number>(() => {});
}

async function migrate(args: string[]): Promise<number> {
  parseArgs({ args, options: {} });
  const store = await openStore(storeConfig(), { migrate: true, log });
  log(`${store.config.display} is up to date`);
  await store.dataSource.destroy();
  return 0;
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
