/**
 * The gateway process: Apollo Gateway (`@apollo/gateway`, in Apollo Server 5) serving a composed
 * supergraph on loopback. Each request's `Authorization` header goes on to every subgraph, so
 * TrailGraph answers within the caller's credential as it does when asked directly.
 *
 *   tsx examples/supergraph/gateway.ts --supergraph FILE [--host 127.0.0.1] [--port 4000]
 *
 * Prints `gateway at http://HOST:PORT/` on stdout once it listens (port 0: any free port), and
 * stops on SIGINT or SIGTERM.
 *
 * `@apollo/gateway` is under the Elastic License 2.0: fine for tests, examples and your own
 * deployments, not for offering the gateway itself as a managed service. TrailGraph does not
 * depend on it (a devDependency); any Federation 2 gateway or router serves TrailGraph.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { ApolloServer } from "@apollo/server";
import { ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";
import { startStandaloneServer } from "@apollo/server/standalone";
import { ApolloGateway, RemoteGraphQLDataSource } from "@apollo/gateway";

interface GatewayContext {
  authorization?: string;
}

/** Apollo Server with a gateway over `supergraphSdl`, forwarding `Authorization`. */
export function gatewayServer(supergraphSdl: string): ApolloServer<GatewayContext> {
  const gateway = new ApolloGateway({
    supergraphSdl,
    buildService: ({ url }) =>
      new RemoteGraphQLDataSource<GatewayContext>({
        url,
        willSendRequest({ request, context }) {
          if (context.authorization) request.http?.headers.set("authorization", context.authorization);
        },
      }),
  });
  return new ApolloServer<GatewayContext>({
    // ApolloGateway implements the gateway interface Apollo Server 5 takes (its older typings differ).
    gateway: gateway as never,
    plugins: [ApolloServerPluginLandingPageDisabled()],
    logger: { debug() {}, info() {}, warn: console.warn, error: console.error },
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      supergraph: { type: "string" },
      host: { type: "string", default: "127.0.0.1" },
      port: { type: "string", default: "4000" },
    },
  });
  if (!values.supergraph) throw new Error("--supergraph FILE is required");
  const server = gatewayServer(readFileSync(values.supergraph, "utf8"));
  const { url } = await startStandaloneServer(server, {
    listen: { host: values.host, port: Number(values.port) },
    context: async ({ req }) => ({ authorization: req.headers.authorization }),
  });
  console.log(`gateway at ${url}`);
  const stop = () => void server.stop().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
