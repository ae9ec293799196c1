#!/usr/bin/env node
import "./production";
import "reflect-metadata";
import { parseArgs } from "node:util";
import { exitWithParent, ingestHeapBound, runWithBoundedHeap } from "./ingest/bounded-heap";
import { UsageError } from "./usage-error";

// Modules load in the command that needs them: `ingest` runs again in a child with a bounded
// heap (src/ingest/bounded-heap.ts), and the parent that waits for it loads next to nothing.
const usage = async () => `Usage: trailgraph <command> [options]

Commands:
  serve [--port N] [--host H] [--migrate] [--workers N|auto] [--open]
      serve the GraphQL API (default port 4000, host 127.0.0.1) from N processes (default 1);
      POST /ingest when TRAILGRAPH_INGEST_TOKEN is set or authentication is on. Without
      authentication (TRAILGRAPH_JWT_SECRET, TRAILGRAPH_JWKS_URL or _FILE, TRAILGRAPH_API_KEYS_FILE)
      every account is readable: allowed on a loopback host, elsewhere only with --open
      (or TRAILGRAPH_OPEN=true)
  ${(await import("./ingest/command")).INGEST_USAGE.replace(/\n/g, "\n  ")}
  migrate
      bring the database up to date
  ${(await import("./generate/command")).GENERATE_USAGE.replace(/\n/g, "\n  ")}
  ${(await import("./auth/command")).APIKEY_USAGE.replace(/\n/g, "\n  ")}

The store is DATABASE_URL: mysql://user:pass@host:port/db (MySQL 8, MariaDB 10.11),
sqlite:<path>, or nothing for the embedded store at ./data/trailgraph.sqlite.
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "serve":
      // The GraphQL stack loads only for the command that needs it.
      return (await import("./server/command")).serveCommand(rest, log);
    case "ingest": {
      const heapMb = ingestHeapBound();
      if (heapMb !== null) return runWithBoundedHeap(heapMb);
      exitWithParent();
      return (await import("./ingest/command")).ingestCommand(rest, log);
    }
    case "migrate":
      return migrate(rest);
    case "generate":
      return (await import("./generate/command")).generateCommand(rest);
    case "apikey":
      return (await import("./auth/command")).apikeyCommand(rest, log);
    case undefined:
    case "help":
    case "--help":
    case "-h":
      process.stdout.write(await usage());
      return command === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown command '${command}'`);
  }
}

async function migrate(args: string[]): Promise<number> {
  parseArgs({ args, options: {} });
  const [{ storeConfig }, { openStore }] = await Promise.all([import("./db/datasource"), import("./db/open")]);
  const store = await openStore(storeConfig(), { migrate: true, log });
  log(`${store.config.display} is up to date`);
  await store.dataSource.destroy();
  return 0;
}

function log(message: string): void {
  process.stderr.write(`[trailgraph] ${message}\n`);
}

/**
 * Exits once what was written to stdout and stderr has left the process: a summary larger
 * than a pipe's buffer is otherwise cut where process.exit finds it.
 */
async function exit(code: number): Promise<never> {
  await Promise.all([process.stdout, process.stderr].map((stream) => new Promise((done) => stream.write("", done))));
  process.exit(code);
}

main(process.argv.slice(2)).then(exit, async (error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`trailgraph: ${message}\n`);
  if (error instanceof UsageError) process.stderr.write(await usage());
  await exit(2);
});
