import cluster, { type Worker } from "node:cluster";
import { availableParallelism } from "node:os";
import { UsageError } from "../usage-error";
import { InflightRequests } from "./inflight";
import { gatherWorkerMetrics } from "./metrics";

/**
 * `--workers` / TRAILGRAPH_WORKERS: a whole number from 1 to 64, or `auto` for one per CPU the
 * process may use. Unset: 1.
 */
export function workerCount(value: string | undefined, source = "--workers"): number {
  if (value === undefined || value.trim() === "") return 1;
  if (value.trim() === "auto") return availableParallelism();
  const count = Number(value);
  if (!Number.isInteger(count) || count < 1 || count > 64)
    throw new UsageError(`${source} '${value}' is not a number of processes from 1 to 64, or 'auto'`);
  return count;
}

/** After this many unplanned worker exits within RESTART_WINDOW_MS, the primary gives up. */
const MAX_RESTARTS = 5;
const RESTART_WINDOW_MS = 60_000;

export interface WorkersOptions {
  count: number;
  log: (message: string) => void;
  /** Once every worker listens: the address they share. */
  ready: (port: number) => void;
}

/**
 * The primary of `serve --workers N`: forks N copies of this command (node:cluster re-runs the
 * same script, arguments and node flags; the workers share one listening socket), replaces a
 * worker that dies (logging the requests it had in flight: the likeliest cause of a death such as
 * running out of memory), and stops them all on SIGINT/SIGTERM. Resolves with the exit code: 0 after a
 * requested stop, 1 when a worker fails before it listens or workers keep dying.
 */
export function runWorkers({ count, log, ready }: WorkersOptions): Promise<number> {
  return new Promise<number>((resolve) => {
    const listened = new Set<number>();
    const exits: number[] = [];
    let stopping: number | null = null;
    const inflight = new InflightRequests();
    const fork = () => inflight.watch(cluster.fork());

    const live = () => Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    const stop = (code: number) => {
      if (stopping !== null) return;
      stopping = code;
      const workers = live();
      if (workers.length === 0) return resolve(code);
      for (const worker of workers) worker.process.kill("SIGTERM");
    };

    cluster.on("listening", (worker, address) => {
      if (listened.has(worker.id)) return;
      listened.add(worker.id);
      // The first N to listen: the service is up (a replacement only logs its exit).
      if (listened.size === count) ready(address.port);
    });
    cluster.on("exit", (worker, code, signal) => {
      if (stopping !== null) {
        if (live().length === 0) resolve(stopping);
        return;
      }
      const how = signal ? `signal ${signal}` : `code ${code}`;
      for (const request of inflight.ended(worker)) log(`worker ${worker.process.pid} had in flight: ${request}`);
      if (!listened.has(worker.id)) {
        log(`worker ${worker.process.pid} exited with ${how} before it listened: stopping`);
        return stop(1);
      }
      const now = Date.now();
      exits.push(now);
      while (exits.length > 0 && exits[0]! < now - RESTART_WINDOW_MS) exits.shift();
      if (exits.length > MAX_RESTARTS) {
        log(`${exits.length} workers exited within ${RESTART_WINDOW_MS / 1000} s (the last with ${how}): stopping`);
        return stop(1);
      }
      log(`worker ${worker.process.pid} exited with ${how}: starting another`);
      fork();
    });
    // A scrape of any worker answers the whole service's figures (src/server/metrics.ts).
    gatherWorkerMetrics();
    process.once("SIGINT", () => stop(0));
    process.once("SIGTERM", () => stop(0));
    for (let i = 0; i < count; i++) fork();
  });
}
