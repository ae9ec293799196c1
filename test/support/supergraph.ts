/**
 * TrailGraph, the example CMDB subgraph and a real gateway process, on loopback: TrailGraph
 * (the real app, with HS256 JWTs) and the CMDB listen in this process, the supergraph is composed
 * from the SDL each subgraph serves, and the gateway runs as a child process on it.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { SignJWT, type JWTPayload } from "jose";
import { authSettings } from "../../src/auth/settings";
import { buildTrailGraphSchema } from "../../src/schema/build";
import { createApp } from "../../src/server/app";
import { startCmdb, type Cmdb, type CmdbData } from "../../examples/supergraph/cmdb";
import { composeSupergraph, fetchSubgraphSdl } from "../../examples/supergraph/compose";
import { startGateway, type RunningGateway } from "../../examples/supergraph/processes";
import type { TestStore } from "./harness";

export const JWT_SECRET = "a-shared-secret-of-at-least-32-bytes-for-federation";

/** A token for `accounts` ("*": every account). */
export function token(accounts: string[] | "*", claims: JWTPayload = {}): Promise<string> {
  return new SignJWT({ sub: "federation-test", exp: Math.floor(Date.now() / 1000) + 600, accounts, ...claims })
    .setProtectedHeader({ alg: "HS256" })
    .sign(new TextEncoder().encode(JWT_SECRET));
}

export interface GraphQLAnswer {
  status: number;
  body: { data?: any; errors?: Array<{ message: string; extensions?: Record<string, unknown> }>; extensions?: any };
}

/** POSTs an operation to a GraphQL endpoint over HTTP. */
export async function post(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<GraphQLAnswer> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, body: (await response.json()) as GraphQLAnswer["body"] };
}

export interface Supergraph {
  trailgraphUrl: string;
  cmdbUrl: string;
  gatewayUrl: string;
  supergraphSdl: string;
  gateway: RunningGateway;
  stop(): Promise<void>;
}

/** TrailGraph on `store` (JWTs required), the CMDB on `data`, composed, behind a gateway process. */
export async function startSupergraph(store: TestStore, data: CmdbData): Promise<Supergraph> {
  const stops: Array<() => Promise<unknown>> = [];
  const stop = async () => {
    for (const step of stops.reverse()) await step();
  };
  try {
    const app: FastifyInstance = await createApp({
      dataSource: store.dataSource,
      schema: await buildTrailGraphSchema(),
      auth: authSettings({ TRAILGRAPH_JWT_SECRET: JWT_SECRET }),
      ingest: { token: null, maxBytes: 1024 * 1024 },
    });
    stops.push(() => app.close());
    const address = await app.listen({ host: "127.0.0.1", port: 0 });
    const trailgraphUrl = `${address}/graphql`;
    const cmdb: Cmdb = await startCmdb(data);
    stops.push(() => cmdb.stop());
    const supergraphSdl = composeSupergraph([
      {
        name: "trailgraph",
        url: trailgraphUrl,
        sdl: await fetchSubgraphSdl(trailgraphUrl, { authorization: `Bearer ${await token("*")}` }),
      },
      { name: "cmdb", url: cmdb.url, sdl: await fetchSubgraphSdl(cmdb.url) },
    ]);
    const dir = await mkdtemp(join(tmpdir(), "trailgraph-supergraph-"));
    stops.push(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, "supergraph.graphql");
    await writeFile(file, supergraphSdl);
    const gateway = await startGateway(file);
    stops.push(() => gateway.stop());
    return { trailgraphUrl, cmdbUrl: cmdb.url, gatewayUrl: gateway.url, supergraphSdl, gateway, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
