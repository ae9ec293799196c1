import { ApolloServer } from "@apollo/server";
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginLandingPageDisabled,
} from "@apollo/server/plugin/disabled";
import { fastifyApolloDrainPlugin, fastifyApolloHandler } from "@as-integrations/fastify";
import Fastify, { type FastifyInstance, type FastifyReply } from "fastify";
import type { GraphQLSchema } from "graphql";
import type { DataSource } from "typeorm";
import { Context } from "../context";
import { TenantScope } from "../db/scope";
import { compiledExecutionPlugin } from "./executor";
import { graphiqlPage } from "./graphiql";
import { ingestSettings, registerIngestRoute } from "./ingest-route";

export interface AppOptions {
  dataSource: DataSource;
  schema: GraphQLSchema;
  /** Log requests (the CLI turns it on; tests keep it off). */
  logger?: boolean;
  /**
   * POST /ingest settings; by default from TRAILGRAPH_INGEST_TOKEN, TRAILGRAPH_INGEST_MAX_BYTES and
   * TRAILGRAPH_INGEST_MAX_DECODED_BYTES.
   */
  ingest?: { token: string | null; maxBytes: number; maxDecodedBytes?: number };
}

export const GRAPHQL_PATH = "/graphql";

/**
 * The HTTP server: Fastify with Apollo Server on /graphql (POST, and GET for queries),
 * GraphiQL for browsers on GET /graphql, and /health for load balancers.
 */
export async function createApp(options: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: options.logger ?? false, bodyLimit: 1024 * 1024 });
  const apollo = new ApolloServer<Context>({
    schema: options.schema,
    // Explorers use GraphiQL and introspection whatever NODE_ENV says.
    introspection: true,
    plugins: [
      fastifyApolloDrainPlugin(app),
      ApolloServerPluginLandingPageDisabled(),
      // No cache hints are set; the plugin would still wrap every field resolver.
      ApolloServerPluginCacheControlDisabled(),
      // Runs the operations clients repeat compiled.
      compiledExecutionPlugin(options.schema),
    ],
    // Compact JSON: the default pretty-prints every response.
    stringifyResult: (result) => JSON.stringify(result),
  });
  await apollo.start();

  const handler = fastifyApolloHandler(apollo, {
    // One Context per request: its DataLoader caches never outlive the request.
    context: async () => new Context(options.dataSource, TenantScope.all()),
  });

  app.route({
    url: GRAPHQL_PATH,
    method: ["GET", "POST", "OPTIONS"],
    // A browser opening the URL gets GraphiQL; everything else goes to Apollo.
    preHandler: async (request, routeReply) => {
      // Apollo's handler types this route's reply as a string; the page is a Buffer.
      const reply = routeReply as unknown as FastifyReply;
      const query = request.query as Record<string, unknown> | undefined;
      const wantsPage =
        request.method === "GET" && !query?.query && (request.headers.accept ?? "").includes("text/html");
      if (!wantsPage) return;
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

  await registerIngestRoute(app, { dataSource: options.dataSource, ...(options.ingest ?? ingestSettings()) });

  app.get("/health", async (_request, reply) => {
    await options.dataSource.query("SELECT 1");
    return reply.send({ status: "ok" });
  });
  app.get("/", async (_request, reply) => reply.redirect(GRAPHQL_PATH));
  return app;
}
