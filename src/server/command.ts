import cluster from "node:cluster";
import { parseArgs } from "node:util";
import {
  authenticationOn,
  authSettings,
  describeAuthentication,
  isLoopback,
  SettingsError,
  type AuthSettings,
} from "../auth/settings";
import { storeConfig } from "../db/datasource";
import { databaseTimeouts } from "../db/faults";
import { loadSamplesIfEmpty, openStore } from "../db/open";
import { UsageError } from "../usage-error";
import { corsOn, corsSettings, describeCors, type CorsSettings } from "./cors";
import { compressionSetting } from "./compression";
import { costLimitSettings, describeCostLimits, type CostLimitSettings } from "./cost-limits";
import { healthSettings, type HealthSettings } from "./health";
import { metricsSettings, type MetricsSettings } from "./metrics";
import { deadlineSettings, describeDeadlines, type DeadlineSettings } from "./deadline";
import { operationSettings, type OperationSettings } from "./operations";
import { ingestSettings } from "./ingest-route";
import { runWorkers, workerCount } from "./workers";

/**
 * `trailgraph serve`: runs until SIGINT/SIGTERM. With `--workers N` (N > 1) this process
 * prepares the store and then supervises N worker processes (src/server/workers.ts), each of
 * which runs this command again and serves on the shared socket.
 */
export async function serveCommand(args: string[], log: (message: string) => void): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: "string" },
      host: { type: "string" },
      migrate: { type: "boolean" },
      workers: { type: "string" },
      open: { type: "boolean" },
    },
  });
  const port = Number(values.port ?? process.env.PORT ?? 4000);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`--port '${values.port}' is not a port number`);
  const host = values.host ?? process.env.HOST ?? "127.0.0.1";
  const workers =
    values.workers !== undefined
      ? workerCount(values.workers)
      : workerCount(process.env.TRAILGRAPH_WORKERS, "TRAILGRAPH_WORKERS");
  // Settings are checked here, so that a primary refuses them before it starts workers.
  const auth = authSettings(process.env, { open: values.open });
  const authOn = authenticationOn(auth);
  if (!authOn && !auth.open && !isLoopback(host)) {
    throw new SettingsError(
      `serve --host ${host} without authentication would let anyone who reaches the port read every ` +
        "account's events. Set TRAILGRAPH_JWT_SECRET, TRAILGRAPH_JWKS_URL, TRAILGRAPH_JWKS_FILE or " +
        'TRAILGRAPH_API_KEYS_FILE (README, "Who may read what"), or say that this is intended with ' +
        "TRAILGRAPH_OPEN=true or --open.",
    );
  }
  const cors = corsSettings();
  if (cors.origins === "*" && !authOn) {
    throw new SettingsError(
      'TRAILGRAPH_CORS_ORIGINS="*" without authentication would let any web page a visitor opens read every ' +
        "account's events: list the origins of your frontends, or turn authentication on.",
    );
  }
  const operations = operationSettings();
  const cost = costLimitSettings();
  const health = healthSettings();
  databaseTimeouts();
  const limits = deadlineSettings();
  const ingestOn = ingestSettings().token !== null || authOn;
  const logRequests = requestLogging();
  const logLevel = logLevelSetting();
  const metrics = metricsSettings();
  const compression = compressionSetting();
  const announce = (shown: string, processes: string) => {
    log(`GraphQL API at http://${shown}/graphql (open it in a browser for GraphiQL)${processes}`);
    if (authOn) log(describeAuthentication(auth));
    else {
      const why = auth.open ? ` (${values.open ? "--open" : "TRAILGRAPH_OPEN=true"})` : "";
      log(`open mode${why}: no authentication; every account is readable by anyone who reaches ${shown}`);
    }
    if (corsOn(cors)) log(describeCors(cors));
    log(describeCostLimits(cost));
    log(describeDeadlines(limits));
    log(
      ingestOn
        ? `POST http://${shown}/ingest is on`
        : "POST /ingest is off (set TRAILGRAPH_INGEST_TOKEN, or turn authentication on)",
    );
    if (metrics.enabled) {
      const who = metrics.token ? "the metrics token" : null;
      const readers = authOn ? [who, "credentials for every account"] : ["anyone who reaches the port"];
      log(`GET http://${shown}/metrics is on: readable by ${readers.filter((r) => r !== null).join(" or ")}`);
    }
  };

  const common = {
    port,
    host,
    log,
    auth,
    logRequests,
    logLevel,
    metrics,
    compression,
    operations,
    cors,
    cost,
    health,
    limits,
  };
  // A worker: the primary has prepared the store; serve quietly and stop with the primary.
  if (cluster.isWorker) return serve({ ...common, migrate: false, announce: null });
  if (workers === 1) return serve({ ...common, migrate: values.migrate, announce: (shown) => announce(shown, "") });

  // The primary: migrate and load the samples once, before any worker opens the store.
  const store = await prepareStore(values.migrate, log);
  await store.dataSource.destroy();
  return runWorkers({
    count: workers,
    log,
    ready: (listening) => announce(`${host}:${listening}`, ` from ${workers} worker processes`),
  });
}

async function prepareStore(migrate: boolean | undefined, log: (message: string) => void) {
  // 1. Connect to the store (the embedded one migrates itself).
  const store = await openStore(storeConfig(), { migrate, log });
  log(`store: ${store.config.display}`);
  // 2. On a new embedded store, load the bundled samples so the first query shows data.
  const samples = await loadSamplesIfEmpty(store);
  if (samples) log(`the embedded store was empty: loaded ${samples.inserted} sample events from samples/events.json`);
  return store;
}

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace"];

/** TRAILGRAPH_LOG_LEVEL: the least severe level logged (pino's names), default info. */
function logLevelSetting(): string {
  const value = process.env.TRAILGRAPH_LOG_LEVEL?.trim().toLowerCase() || "info";
  if (LOG_LEVELS.includes(value)) return value;
  throw new SettingsError(
    `TRAILGRAPH_LOG_LEVEL '${process.env.TRAILGRAPH_LOG_LEVEL}' is not one of ${LOG_LEVELS.join(", ")}.`,
  );
}

/** TRAILGRAPH_LOG_REQUESTS: one JSON line per request on stdout, unless `off`. */
function requestLogging(): boolean {
  const value = process.env.TRAILGRAPH_LOG_REQUESTS?.trim().toLowerCase() ?? "";
  if (["", "on", "1", "true"].includes(value)) return true;
  if (["off", "0", "false"].includes(value)) return false;
  throw new SettingsError(`TRAILGRAPH_LOG_REQUESTS '${process.env.TRAILGRAPH_LOG_REQUESTS}' is neither on nor off.`);
}

interface ServeOptions {
  port: number;
  host: string;
  auth: AuthSettings;
  /** One log line per request (stdout). */
  logRequests: boolean;
  /** The least severe level logged. */
  logLevel: string;
  /** GET /metrics. */
  metrics: MetricsSettings;
  /** Compressed answers for clients that ask. */
  compression: boolean;
  /** Introspection, field suggestions, trusted documents. */
  operations: OperationSettings;
  /** Which pages of other origins may call /graphql. */
  cors: CorsSettings;
  /** Query cost limits and each client's budget. */
  cost: CostLimitSettings;
  /** Readiness check timeout and caching. */
  health: HealthSettings;
  /** Each request's deadline, answer size and row limit. */
  limits: DeadlineSettings;
  migrate: boolean | undefined;
  log: (message: string) => void;
  /** Says where the API listens; null in a worker (its primary says it once). */
  announce: ((shown: string) => void) | null;
}

/** Serves from this process. */
async function serve({
  port,
  host,
  migrate,
  log,
  announce,
  auth,
  logRequests,
  logLevel,
  metrics,
  compression,
  operations,
  cors,
  cost,
  health,
  limits,
}: ServeOptions): Promise<number> {
  // The GraphQL stack loads only in the processes that serve.
  const [{ buildTrailGraphSchema }, { createApp }] = await Promise.all([import("../schema/build"), import("./app")]);
  const store = announce ? await prepareStore(migrate, log) : await openStore(storeConfig(), { log });
  // 3. Build the schema once, and the HTTP server around it.
  const app = await createApp({
    dataSource: store.dataSource,
    schema: await buildTrailGraphSchema(),
    auth,
    operations,
    cors,
    cost,
    health,
    // Errors and warnings are logged whatever TRAILGRAPH_LOG_REQUESTS says.
    logger: { level: logLevel },
    logRequests,
    metrics,
    compression,
    limits,
  });
  // 4. Stop cleanly on SIGINT/SIGTERM (or, in a worker, when the primary is gone): finish
  // requests in flight, then close the store.
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await app.close();
      await store.dataSource.destroy();
      process.exit(0);
    })());
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  if (cluster.isWorker) process.once("disconnect", stop);
  await app.listen({ port, host });
  const address = app.server.address();
  announce?.(typeof address === "object" && address ? `${host}:${address.port}` : `${host}:${port}`);
  return new Promise<number>(() => {});
}
