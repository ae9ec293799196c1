#!/usr/bin/env node
import "./production";
import "reflect-metadata";
import { parseArgs } from "node:util";
import { storeConfig } from "./db/datasource";
import { openStore } from "./db/open";
import { ingestCommand, INGEST_USAGE, UsageError } from "./ingest/command";

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
      // The GraphQL stack loads only for the command that needs it.
      return (await import("./server/command")).serveCommand(rest, log);
    case "ingest":
      return ingestCommand(rest, log);
    case "migrate":
      return migrate(rest);
    case "generate":
      return (await import("./generate/command")).generateCommand(rest);
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
