import cluster, { type Worker } from "node:cluster";
import type { ApolloServerPlugin, BaseContext, GraphQLRequestListener } from "@apollo/server";
import type { FastifyRequest } from "fastify";
import { costOfRequest } from "./cost-limits";

/**
 * What a worker of `serve --workers N` tells its primary as a GraphQL operation starts: request
 * ID, operation name, subject, cost. Its end is the request ID alone. A worker that dies (V8 out of
 * memory, a signal) runs no more JavaScript, so it cannot say which request killed it: its
 * primary knows from these what it had in flight (src/server/workers.ts logs them).
 */
export type InflightStart = [id: string, operation: string | null, subject: string, cost: number | null];
export type InflightMessage = InflightStart | string;

/**
 * Reports each operation to the primary as it starts (once Apollo Server has resolved it and
 * the cost limits let it through: a refused one does no work) and as its answer is ready. Only in
 * a cluster worker: one small message each way over the IPC channel (bench/inflight.ts measures
 * it). Before compiledExecutionPlugin in the plugin list: its responseForOperation runs first.
 */
export function inflightPlugin<TContext extends BaseContext>(
  requestOf: (context: TContext) => FastifyRequest | undefined,
): ApolloServerPlugin<TContext> | null {
  if (!cluster.isWorker || !process.send) return null;
  const send = process.send.bind(process);
  const listener: GraphQLRequestListener<TContext> = {
    async responseForOperation({ contextValue, operationName, request: operation }) {
      const request = requestOf(contextValue);
      if (request) {
        const start: InflightStart = [
          request.id,
          operationName ?? null,
          request.principal?.subject ?? "anonymous",
          costOfRequest(operation),
        ];
        send(start);
        request.inflight = true;
      }
      return null;
    },
    async willSendResponse({ contextValue }) {
      const request = contextValue ? requestOf(contextValue) : undefined;
      if (request?.inflight) {
        request.inflight = false;
        send(request.id);
      }
    },
  };
  return { requestDidStart: async () => listener };
}

declare module "fastify" {
  interface FastifyRequest {
    /** Reported to the primary as started, not yet as ended (src/server/inflight.ts). */
    inflight: boolean;
  }
}

interface Inflight {
  operation: string | null;
  subject: string;
  cost: number | null;
  /** Date.now() when the primary heard of it. */
  since: number;
}

/** The primary's view of each worker's requests in flight. */
export class InflightRequests {
  private readonly byWorker = new Map<number, Map<string, Inflight>>();

  /** Follows `worker`'s messages. */
  watch(worker: Worker): void {
    const requests = new Map<string, Inflight>();
    this.byWorker.set(worker.id, requests);
    worker.on("message", (message: unknown) => {
      if (typeof message === "string") requests.delete(message);
      else if (Array.isArray(message) && message.length === 4 && typeof message[0] === "string") {
        const [id, operation, subject, cost] = message as InflightStart;
        requests.set(id, { operation, subject, cost, since: Date.now() });
      }
    });
  }

  /**
   * What `worker` had in flight when it ended, one line each (request ID, operation, subject,
   * cost, ms since it started); forgets the worker.
   */
  ended(worker: Worker): string[] {
    const requests = this.byWorker.get(worker.id);
    this.byWorker.delete(worker.id);
    if (!requests) return [];
    const now = Date.now();
    return [...requests].map(
      ([id, { operation, subject, cost, since }]) =>
        `request ${id} (operation ${operation ?? "(anonymous)"}, subject ${subject}, cost ${cost ?? "unknown"}, ` +
        `${now - since} ms)`,
    );
  }
}
