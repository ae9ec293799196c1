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
import { compiledExecutionPlugin } from "./executor";
import { graphiqlPage } from "./graphiql";
import { ingestSettings, registerIngestRoute } from "./ingest-route";
import { operationSettings, trustedDocumentsPlugin, type OperationSettings } from "./operations";

export interface AppOptions {
  dataSource: DataSource;
  schema: GraphQLSchema;
  /**
   * Log one line per request (subject, operation, status, duration) through Fastify's logger:
   * `true` to stdout, or a stream (the CLI turns it on; tests keep it off).
   */
  logger?: boolean | { stream: NodeJS.WritableStream; level?: string };
  /**
   * Who may read what: JWT and API key settings; by default from the environment
   * (src/auth/settings.ts). Without JWT or API keys every request reads every account.
   */
  auth?: AuthSettings;
  /** Introspection, field suggestions and trusted documents; by default from the environment (src/server/operations.ts). */
  operations?: OperationSettings;
  /** Which pages of other origins may call /graphql (CORS); by default from the environment (src/server/cors.ts). */
  cors?: CorsSettings;
  /** How often at most the API keys file is looked at for changes, ms (1000). */
  apiKeyCheckIntervalMs?: number;
  /**
   * POST /ingest settings; by default from TRAILGRAPH_INGEST_TOKEN, TRAILGRAPH_INGEST_MAX_BYTES and
   * TRAILGRAPH_INGEST_MAX_DECODED_BYTES.
   */
  ingest?: { token: string | null; maxBytes: number; maxDecodedBytes?: number };
}

declare module "fastify" {
  interface FastifyRequest {
    /** The Store of the request's GraphQL context: the request log reports its statements. */
    store: Store | null;
  }
}

export const GRAPHQL_PATH = "/graphql";

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
  const logging = options.logger !== undefined && options.logger !== false;
  // The request log is the one line written below, not Fastify's two per request.
  const app = Fastify({
    logger: options.logger ?? false,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
  });
  const authenticator = new Authenticator(options.auth ?? authSettings(), {
    onError: (message) => app.log.error(message),
    apiKeyCheckIntervalMs: options.apiKeyCheckIntervalMs,
  });
  app.decorateRequest("principal", null);
  app.decorateRequest("authProblem", null);
  app.decorateRequest("operationName", null);
  app.decorateRequest("store", null);
  // The request of each Context (by its Store: Apollo hands plugins a shallow copy of the
  // Context), for the operation name in the request log.
  const requests = new WeakMap<Context["store"], FastifyRequest>();
  const operations = options.operations ?? operationSettings();
  const apollo = new ApolloServer<Context>({
    schema: options.schema,
    // Explorers use GraphiQL and introspection whatever NODE_ENV says, unless switched off.
    introspection: operations.introspection,
    hideSchemaDetailsFromClientErrors: !operations.suggestions,
    plugins: [
      // First: an untrusted operation is refused before any other plugin acts on it.
      ...(operations.trusted ? [trustedDocumentsPlugin<Context>(operations.trusted)] : []),
      fastifyApolloDrainPlugin(app),
      ApolloServerPluginLandingPageDisabled(),
      // No cache hints are set; the plugin would still wrap every field resolver.
      ApolloServerPluginCacheControlDisabled(),
      // Runs the operations clients repeat compiled.
      compiledExecutionPlugin(options.schema),
      ...(logging ? [operationNamePlugin(requests)] : []),
    ],
    // Apollo's own messages (such as "Enabling inline tracing for this subgraph") go to the
    // request log when there is one; otherwise only its warnings and errors, to stderr.
    logger: logging ? app.log : QUIET_LOGGER,
    // Compact JSON: the default pretty-prints every response.
    stringifyResult: (result) => JSON.stringify(result),
  });
  await apollo.start();

  const handler = fastifyApolloHandler(apollo, {
    // One Context per request: its DataLoader caches never outlive the request; its scope is
    // what the request's credential may read.
    context: async (request) => {
      // Every request that reaches Apollo was authenticated by the preHandler below.
      if (!request.principal) throw new Error("a GraphQL request reached Apollo without a principal");
      const context = new Context(options.dataSource, request.principal.scope);
      if (logging) {
        requests.set(context.store, request);
        request.store = context.store;
      }
      return context;
    },
  });

  const cors = corsHook(options.cors ?? corsSettings());
  app.route({
    url: GRAPHQL_PATH,
    method: ["GET", "POST", "OPTIONS"],
    ...(cors ? { onRequest: cors } : {}),
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

  app.get("/health", async (_request, reply) => {
    await options.dataSource.query("SELECT 1");
    return reply.send({ status: "ok" });
  });
  app.get("/", async (_request, reply) => reply.redirect(GRAPHQL_PATH));

  if (logging) {
    app.addHook("onResponse", async (request, reply) => {
      const principal = request.principal;
      request.log.info(
        {
          subject: principal?.subject ?? "anonymous",
          via: principal?.via ?? null,
          operation: request.operationName,
          statements: request.store?.statements ?? 0,
          method: request.method,
          path: request.routeOptions.url ?? request.url.split("?", 1)[0],
          status: reply.statusCode,
          ms: Math.round(reply.elapsedTime * 10) / 10,
          ...(request.authProblem ? { auth: request.authProblem } : {}),
        },
        "request",
      );
    });
  }
  return app;
}

/**
 * A refused credential, as GraphQL clients read errors: 401 with `WWW-Authenticate: Bearer`
 * (403 for a credential that grants nothing usable, 503 when the keys cannot be fetched).
 */
function sendAuthError(request: FastifyRequest, reply: FastifyReply, error: AuthError) {
  request.authProblem = error.message;
  if (error.status === 401) {
    const presented = request.headers.authorization !== undefined;
    reply.header("www-authenticate", `Bearer realm="trailgraph"${presented ? ', error="invalid_token"' : ""}`);
  }
  return reply
    .code(error.status)
    .header("content-type", "application/json; charset=utf-8")
    .send(JSON.stringify({ errors: [{ message: error.message, extensions: { code: error.code } }] }));
}

/** Records each request's operation name (as Apollo resolved it) for the request log. */
function operationNamePlugin(requests: WeakMap<Context["store"], FastifyRequest>): ApolloServerPlugin<Context> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ contextValue, operationName }) {
          const request = requests.get(contextValue.store);
          if (request) request.operationName = operationName ?? null;
        },
      };
    },
  };
}
