import { randomUUID } from "node:crypto";
import { ApolloServer, type ApolloServerPlugin } from "@apollo/server";
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginLandingPageDisabled,
} from "@apollo/server/plugin/disabled";
import { fastifyApolloDrainPlugin, fastifyApolloHandler } from "@as-integrations/fastify";
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import type { GraphQLSchema } from "graphql";
import type { DataSource } from "typeorm";
import { AuthError, Authenticator } from "../auth/credentials";
import { authSettings, type AuthSettings } from "../auth/settings";
import { Context } from "../context";
import type { Store } from "../db/store";
import { corsHook, corsSettings, type CorsSettings } from "./cors";
import {
  clientKey,
  costLimitSettings,
  costLimitsPlugin,
  DocumentGuard,
  refusalResponse,
  type CostLimitSettings,
} from "./cost-limits";
import { compressionSetting, registerCompression } from "./compression";
import {
  CLIENT_CLOSED,
  deadlinePlugin,
  deadlineSettings,
  oversize,
  RequestGuard,
  responseTooLargeBody,
  type DeadlineSettings,
} from "./deadline";
import { compiledExecutionPlugin } from "./executor";
import { inflightPlugin } from "./inflight";
import { graphiqlPage } from "./graphiql";
import { healthSettings, registerHealthRoutes, type HealthSettings } from "./health";
import { ingestSettings, registerIngestRoute } from "./ingest-route";
import { Metrics, metricsSettings, registerMetricsRoute, type MetricsSettings } from "./metrics";
import { operationSettings, trustedDocumentsPlugin, type OperationSettings } from "./operations";

export interface AppOptions {
  dataSource: DataSource;
  schema: GraphQLSchema;
  /**
   * Fastify's logger (errors with their stack, and one line per request: subject, operation,
   * status, duration): `true` to stdout, or a stream and/or a level (the CLI turns it on;
   * tests keep it off).
   */
  logger?: boolean | { stream?: NodeJS.WritableStream; level?: string };
  /** With a logger: one line per request (true), or only errors and warnings (false). */
  logRequests?: boolean;
  /** GET /metrics; by default from TRAILGRAPH_METRICS and TRAILGRAPH_METRICS_TOKEN (src/server/metrics.ts). */
  metrics?: MetricsSettings;
  /** Compressed answers for clients that ask; by default from TRAILGRAPH_COMPRESSION (src/server/compression.ts). */
  compression?: boolean;
  /**
   * Who may read what: JWT and API key settings; by default from the environment
   * (src/auth/settings.ts). Without JWT or API keys every request reads every account.
   */
  auth?: AuthSettings;
  /** Introspection, field suggestions and trusted documents; by default from the environment (src/server/operations.ts). */
  operations?: OperationSettings;
  /** Which pages of other origins may call /graphql (CORS); by default from the environment (src/server/cors.ts). */
  cors?: CorsSettings;
  /** Query cost, depth, alias, directive, repeat and token limits and each client's budget; by default from the environment (src/server/cost-limits.ts). */
  cost?: CostLimitSettings;
  /** Each request's deadline, answer size and row limit; by default from the environment (src/server/deadline.ts). */
  limits?: DeadlineSettings;
  /** How often at most the API keys file is looked at for changes, ms (1000). */
  apiKeyCheckIntervalMs?: number;
  /**
   * POST /ingest settings; by default from TRAILGRAPH_INGEST_TOKEN, TRAILGRAPH_INGEST_MAX_BYTES and
   * TRAILGRAPH_INGEST_MAX_DECODED_BYTES.
   */
  ingest?: { token: string | null; maxBytes: number; maxDecodedBytes?: number };
  /** Readiness check timeout and caching; by default from the environment (src/server/health.ts). */
  health?: HealthSettings;
}

declare module "fastify" {
  interface FastifyRequest {
    /** The Store of the request's GraphQL context: the request log reports its statements. */
    store: Store | null;
    /** The operation's cost (src/server/cost.ts), once known, for the request log. */
    cost: number | null;
    /** The code of the answer's first error, for the request log. */
    errorCode: string | null;
    /** The GraphQL request's deadline, disconnect and row limit (src/server/deadline.ts). */
    guard: RequestGuard | null;
  }
}

export const GRAPHQL_PATH = "/graphql";

type SendDone = (error: Error | null, payload: unknown) => void;

const QUIET_LOGGER = {
  debug: () => {},
  info: () => {},
  warn: (message: unknown) => console.warn(message),
  error: (message: unknown) => console.error(message),
};

/**
 * The HTTP server: Fastify with Apollo Server on /graphql (POST, and GET for queries),
 * GraphiQL for browsers on GET /graphql, and /health for load balancers.
 */
export async function createApp(options: AppOptions): Promise<FastifyInstance> {
  const logging = options.logger !== undefined && options.logger !== false && options.logRequests !== false;
  // The request log is the one line written below, not Fastify's two per request.
  const app = Fastify({
    // Request IDs that mean one request whatever the process: a client quotes it, the log has it.
    genReqId: () => randomUUID(),
    logger: options.logger ?? false,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
  });
  // What Fastify answers itself (a body that is not JSON, an unsupported content type, a body
  // too large) and whatever escapes a handler, in GraphQL's error format. A 5xx says only that
  // the request failed and under which request ID the log has the details (driver messages,
  // addresses and SQL never reach a client).
  app.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => {
    const status =
      error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    const internal = status === 500;
    if (internal) request.log.error({ err: error, reqId: request.id }, "request failed");
    request.errorCode = internal ? "INTERNAL_SERVER_ERROR" : "BAD_REQUEST";
    const message = internal
      ? `Internal error; the server's log has the details under request ID ${request.id}.`
      : error.message;
    return reply
      .code(status)
      .header("content-type", "application/json; charset=utf-8")
      .send(JSON.stringify({ errors: [{ message, extensions: { code: request.errorCode, requestId: request.id } }] }));
  });
  if (options.compression ?? compressionSetting()) await registerCompression(app);
  const metricSettings = options.metrics ?? metricsSettings();
  const metrics = metricSettings.enabled ? new Metrics(options.dataSource) : null;
  const authenticator = new Authenticator(options.auth ?? authSettings(), {
    onError: (message) => app.log.error(message),
    apiKeyCheckIntervalMs: options.apiKeyCheckIntervalMs,
  });
  app.decorateRequest("principal", null);
  app.decorateRequest("authProblem", null);
  app.decorateRequest("operationName", null);
  app.decorateRequest("store", null);
  app.decorateRequest("cost", null);
  app.decorateRequest("errorCode", null);
  app.decorateRequest("guard", null);
  app.decorateRequest("inflight", false);
  // The request of each Context (by its Store: Apollo hands plugins a shallow copy of the
  // Context), for the client whose budget it spends and the operation name in the request log.
  const requests = new WeakMap<Context["store"], FastifyRequest>();
  const clientOf = (context: Context) => {
    const request = requests.get(context.store);
    return request ? clientKey(request.principal, request.ip) : "unknown";
  };
  // In a worker of `serve --workers N`: the primary hears of each operation (src/server/inflight.ts).
  const inflight = inflightPlugin<Context>((context) => requests.get(context.store));
  const operations = options.operations ?? operationSettings();
  const cost = options.cost ?? costLimitSettings();
  const guard = new DocumentGuard(options.schema, cost);
  const limits = options.limits ?? deadlineSettings();
  const maxResponseBytes = limits.maxResponseBytes;
  const apollo = new ApolloServer<Context>({
    schema: options.schema,
    // Explorers use GraphiQL and introspection whatever NODE_ENV says, unless switched off.
    introspection: operations.introspection,
    hideSchemaDetailsFromClientErrors: !operations.suggestions,
    plugins: [
      // First: an untrusted operation is refused before any other plugin acts on it.
      ...(operations.trusted ? [trustedDocumentsPlugin<Context>(operations.trusted)] : []),
      // Operations above the limits, or of a client whose budget is spent, never run.
      costLimitsPlugin<Context>(options.schema, cost, clientOf),
      fastifyApolloDrainPlugin(app),
      ApolloServerPluginLandingPageDisabled(),
      // No cache hints are set; the plugin would still wrap every field resolver.
      ApolloServerPluginCacheControlDisabled(),
      // Before the compiled runner: its responseForOperation sees every operation that runs.
      ...(inflight ? [inflight] : []),
      // Runs the operations clients repeat compiled.
      compiledExecutionPlugin(options.schema),
      // Internal errors reach clients as a request ID, their details the log.
      internalErrorsPlugin(requests),
      ...(logging || metrics ? [requestLogPlugin(requests, metrics)] : []),
      // Last: a request stopped by its deadline, client or row limit answers why, whatever ran.
      deadlinePlugin<Context>(
        (context) => requests.get(context.store),
        // A client that went away got nothing: 499, as nginx logs it, once the work has stopped
        // (Fastify's onResponse, where the other requests are logged and counted, never runs).
        logging || metrics
          ? (request, ms) => {
              if (logging) logRequest(request, 499, ms);
              metrics?.responded(request, 499, ms);
            }
          : null,
      ),
    ],
    // Apollo's own messages (such as "Enabling inline tracing for this subgraph") go to the
    // request log when there is one; otherwise only its warnings and errors, to stderr.
    logger: options.logger ? app.log : QUIET_LOGGER,
    // Compact JSON: the default pretty-prints every response.
    stringifyResult: (result) => JSON.stringify(result),
  });
  await apollo.start();

  const handler = fastifyApolloHandler(apollo, {
    // One Context per request: its DataLoader caches never outlive the request; its scope is
    // what the request's credential may read.
    context: async (request, reply) => {
      // Every request that reaches Apollo was authenticated by the preHandler below.
      if (!request.principal) throw new Error("a GraphQL request reached Apollo without a principal");
      request.guard = new RequestGuard(limits, reply.raw);
      const context = new Context(options.dataSource, request.principal.scope, request.guard);
      requests.set(context.store, request);
      request.store = context.store;
      return context;
    },
  });

  const cors = corsHook(options.cors ?? corsSettings());
  app.route({
    url: GRAPHQL_PATH,
    method: ["GET", "POST", "OPTIONS"],
    ...(cors ? { onRequest: cors } : {}),
    // An answer above the size limit is replaced by RESPONSE_TOO_LARGE (Apollo's answers are strings).
    ...(maxResponseBytes !== null
      ? {
          onSend: (request: FastifyRequest, reply: FastifyReply, payload: unknown, done: SendDone) => {
            const bytes = typeof payload === "string" ? oversize(payload, maxResponseBytes) : -1;
            if (bytes < 0) return done(null, payload);
            request.errorCode = "RESPONSE_TOO_LARGE";
            reply.code(400);
            done(null, responseTooLargeBody(bytes, maxResponseBytes));
          },
        }
      : {}),
    // A browser opening the URL gets GraphiQL (the page holds no data: its requests carry the
    // headers typed into its headers pane); everything else must carry a credential, then goes
    // to Apollo.
    preHandler: async (request, routeReply) => {
      // Apollo's handler types this route's reply as a string; the page is a Buffer.
      const reply = routeReply as unknown as FastifyReply;
      // A CORS preflight carries no credential: 204, with the headers the CORS hook set.
      if (request.method === "OPTIONS") return reply.code(204).send();
      const query = request.query as Record<string, unknown> | undefined;
      const wantsPage =
        request.method === "GET" && !query?.query && (request.headers.accept ?? "").includes("text/html");
      if (!wantsPage) {
        try {
          request.principal = await authenticator.authenticate(request);
        } catch (error) {
          if (!(error instanceof AuthError)) throw error;
          return sendAuthError(request, reply, error);
        }
        // A document above the token, depth, alias, directive or repeat limits is refused before
        // Apollo Server parses and validates it.
        const text = request.method === "GET" ? query?.query : (request.body as { query?: unknown } | null)?.query;
        const refused = typeof text === "string" ? guard.refusal(text) : null;
        if (refused) {
          request.errorCode = String(refused.extensions.code);
          if (typeof refused.extensions.cost === "number") request.cost = refused.extensions.cost;
          const { status, body } = refusalResponse(refused);
          return reply.code(status).header("content-type", "application/json; charset=utf-8").send(body);
        }
        return;
      }
      const page = graphiqlPage(GRAPHQL_PATH);
      reply
        .header("content-type", "text/html; charset=utf-8")
        .header("etag", page.etag)
        .header("cache-control", "no-cache");
      if (request.headers["if-none-match"] === page.etag) return reply.code(304).send();
      if ((request.headers["accept-encoding"] ?? "").includes("gzip")) {
        return reply.header("content-encoding", "gzip").send(page.gzipped);
      }
      return reply.send(page.html);
    },
    handler,
  });

  await registerIngestRoute(app, {
    dataSource: options.dataSource,
    ...(options.ingest ?? ingestSettings()),
    authenticator,
  });

  registerHealthRoutes(app, options.dataSource, options.health ?? healthSettings());
  app.get("/", async (_request, reply) => reply.redirect(GRAPHQL_PATH));
  if (metrics) {
    registerMetricsRoute(app, metrics, { token: metricSettings.token, authenticator, refuse: sendAuthError });
    // Whether or not there is a request log; a callback hook, not an async one: every request runs it.
    app.addHook("onResponse", (request, reply, done) => {
      metrics.responded(request, reply.statusCode, reply.elapsedTime);
      done();
    });
    app.addHook("onClose", (_instance, done) => {
      metrics.detach();
      done();
    });
  }

  if (logging) {
    app.addHook("onResponse", async (request, reply) => {
      // Logged by the deadline plugin (Fastify's onResponse never runs for a closed connection).
      if (request.errorCode !== CLIENT_CLOSED) logRequest(request, reply.statusCode, reply.elapsedTime);
    });
  }
  return app;
}

/** The request log's line for a request (logging on). */
function logRequest(request: FastifyRequest, status: number, ms: number): void {
  const principal = request.principal;
  request.log.info(
    {
      subject: principal?.subject ?? "anonymous",
      via: principal?.via ?? null,
      operation: request.operationName,
      cost: request.cost,
      statements: request.store?.statements ?? 0,
      method: request.method,
      path: request.routeOptions.url ?? request.url.split("?", 1)[0],
      status,
      ms: Math.round(ms * 10) / 10,
      ...(request.errorCode ? { code: request.errorCode } : {}),
      ...(request.authProblem ? { auth: request.authProblem } : {}),
    },
    "request",
  );
}

/**
 * A refused credential, as GraphQL clients read errors: 401 with `WWW-Authenticate: Bearer`
 * (403 for a credential that grants nothing usable, 503 when the keys cannot be fetched).
 */
function sendAuthError(request: FastifyRequest, reply: FastifyReply, error: AuthError) {
  request.authProblem = error.message;
  request.errorCode = error.code;
  if (error.status === 401) {
    const presented = request.headers.authorization !== undefined;
    reply.header("www-authenticate", `Bearer realm="trailgraph"${presented ? ', error="invalid_token"' : ""}`);
  }
  return reply
    .code(error.status)
    .header("content-type", "application/json; charset=utf-8")
    .send(JSON.stringify({ errors: [{ message: error.message, extensions: { code: error.code } }] }));
}

/**
 * An error GraphQL execution met that is not one this server raises on purpose (a driver's
 * message, an address, SQL: anything that answers INTERNAL_SERVER_ERROR) reaches the client as
 * "internal error" with the request's ID; the log has the original with its stack under that ID.
 */
function internalErrorsPlugin(requests: WeakMap<Context["store"], FastifyRequest>): ApolloServerPlugin<Context> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ contextValue, response, errors, logger }) {
          if (response.body.kind !== "single" || !response.body.singleResult.errors) return;
          const request = contextValue ? requests.get(contextValue.store) : undefined;
          const requestId = request?.id ?? randomUUID();
          response.body.singleResult.errors = response.body.singleResult.errors.map((formatted, index) => {
            const code = formatted.extensions?.code;
            if (code === "DATABASE_UNAVAILABLE" || code === "STATEMENT_TIMEOUT") {
              // Said as is (src/db/faults.ts); the driver's error, with its address, only to the log.
              const original = errors?.[index]?.originalError ?? errors?.[index];
              if (request)
                request.log.warn({ err: original, reqId: requestId, path: formatted.path }, "database fault");
              return { ...formatted, extensions: { ...formatted.extensions, requestId } };
            }
            if (code !== "INTERNAL_SERVER_ERROR") return formatted;
            const original = errors?.[index]?.originalError ?? errors?.[index];
            if (request)
              request.log.error({ err: original, reqId: requestId, path: formatted.path }, "GraphQL execution failed");
            else
              logger.error(
                `GraphQL execution failed (request ${requestId}): ${(original as Error)?.stack ?? String(original)}`,
              );
            return {
              message: `Internal error; the server's log has the details under request ID ${requestId}.`,
              ...(formatted.path ? { path: formatted.path } : {}),
              extensions: { code: "INTERNAL_SERVER_ERROR", requestId },
            };
          });
        },
      };
    },
  };
}

/**
 * Records for the request log what Apollo Server knows of each request: the operation's name,
 * its cost (answered in `extensions.cost`, or by a refusal), and the code of the first error.
 */
function requestLogPlugin(
  requests: WeakMap<Context["store"], FastifyRequest>,
  metrics: Metrics | null,
): ApolloServerPlugin<Context> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ contextValue, operationName }) {
          const request = requests.get(contextValue.store);
          if (request) request.operationName = operationName ?? null;
        },
        async willSendResponse({ contextValue, response, errors }) {
          const request = contextValue ? requests.get(contextValue.store) : undefined;
          if (!request) return;
          const result = response.body.kind === "single" ? response.body.singleResult : null;
          if (metrics && result?.errors) metrics.errorsAnswered(result.errors);
          const answered = (result?.extensions?.cost as { requested?: unknown } | undefined)?.requested;
          const refused = errors?.[0]?.extensions?.cost;
          const cost = typeof answered === "number" ? answered : typeof refused === "number" ? refused : null;
          if (cost !== null) request.cost = cost;
          // The code the client reads (an internal error's raw form carries none).
          const code = (result?.errors ?? errors)?.[0]?.extensions?.code;
          if (typeof code === "string") request.errorCode = code;
        },
      };
    },
  };
}
