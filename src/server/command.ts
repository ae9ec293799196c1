import { parseArgs } from "node:util";
import { storeConfig } from "../db/datasource";
import { loadSamplesIfEmpty, openStore } from "../db/open";
import { UsageError } from "../ingest/command";
import { buildTrailGraphSchema } from "../schema/build";
import { createApp, GRAPHQL_PATH, ingestSettings } from "./app";

/** `trailgraph serve`: runs until SIGINT/SIGTERM. */
export async function serveCommand(args: string[], log: (message: string) => void): Promise<number> {
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
