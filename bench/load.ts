/**
 * HTTP load with autocannon (programmatic API), POSTing a rotating list of GraphQL request
 * bodies over keep-alive connections to a loopback URL. Latencies are kept per request with
 * sub-millisecond precision (autocannon's own histogram rounds to whole milliseconds), and
 * every response body is checked for GraphQL errors, which arrive with status 200.
 */
import { readFileSync } from "node:fs";
import autocannon from "autocannon";

export interface LoadResult {
  connections: number;
  seconds: number;
  /** 2xx responses without GraphQL errors. */
  requests: number;
  requestsPerSecond: number;
  /** Milliseconds. */
  p50: number;
  p99: number;
  mean: number;
  /** Connection errors and timeouts (autocannon `errors`, which includes timeouts). */
  errors: number;
  timeouts: number;
  non2xx: number;
  /** 2xx responses whose body carries `"errors"`. */
  graphqlErrors: number;
  /** The first GraphQL error or non-2xx body seen, for the failure message. */
  firstError: string | null;
  /**
   * CPU time (user + system) the server process and the database server spent per good
   * response during the step, ms (Linux /proc; null elsewhere). Less sensitive than req/s
   * to whatever else the machine is running.
   */
  serverCpuMs: number | null;
  databaseCpuMs: number | null;
  /** Mean size of a response body, bytes (a page that fills up costs more to build). */
  bytesPerResponse?: number;
}

/** Processes whose CPU time a load step measures. */
export interface Measured {
  server?: number;
  database?: number | null;
}

/**
 * CPU seconds (user + system) a process and its descendants (a server's workers) have used so
 * far, from /proc/<pid>/stat; null when unreadable.
 */
export function cpuSeconds(pid: number | null | undefined): number | null {
  if (!pid) return null;
  let total: number | null = null;
  for (const each of processTree(pid)) {
    try {
      const stat = readFileSync(`/proc/${each}/stat`, "utf8");
      // Fields after the command (which may hold spaces): state is field 3; utime, stime are 14, 15.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      total = (total ?? 0) + (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
    } catch {
      /* not on Linux, or already gone */
    }
  }
  return total;
}

/** A process and its descendants (Linux /proc; just the process elsewhere). */
export function processTree(pid: number | undefined): number[] {
  if (pid === undefined) return [];
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) {
    try {
      const children = readFileSync(`/proc/${tree[i]}/task/${tree[i]}/children`, "utf8").trim();
      if (children !== "") tree.push(...children.split(/\s+/).map(Number));
    } catch {
      /* not on Linux, or already gone */
    }
  }
  return tree;
}

/** USER_HZ: 100 on every Linux that Node runs on. */
const CLOCK_TICKS = 100;

const GRAPHQL_ERRORS = /"errors":\s*\[/;

/** One server under load: where to send, and which processes' CPU time to measure. */
export interface LoadTarget {
  url: string;
  measured?: Measured;
  /** This target's request bodies, when they differ from the step's (another dataset's variables). */
  bodies?: readonly string[];
  /** Headers sent with every request besides the content type (a credential, Accept-Encoding). */
  headers?: Record<string, string>;
}

/** What the slices of one target add up to. */
interface Tally {
  seconds: number;
  latencies: number[];
  graphqlErrors: number;
  firstError: string | null;
  bodyBytes: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  /** CPU seconds of the server and of the database during the slices; null once one was unreadable. */
  cpu: [number | null, number | null];
  /** Next request body to send: each target walks the same sequence. */
  next: number;
}

export async function runLoad(
  url: string,
  bodies: readonly string[],
  connections: number,
  seconds: number,
  measured: Measured = {},
  headers?: Record<string, string>,
): Promise<LoadResult> {
  const [result] = await runAlternating([{ url, measured, headers }], bodies, connections, seconds, 1);
  return result;
}

/**
 * The same load on several servers, `seconds` each, in `slices` turns: each server gets
 * seconds/slices at a time, one after the other, and its figures are those of all its
 * slices together (percentiles over all its requests). Whatever else the machine does in a
 * burst of a few seconds then falls on every server alike, where back-to-back steps of
 * the whole duration would give it to one of them.
 */
export async function runAlternating(
  targets: readonly LoadTarget[],
  bodies: readonly string[],
  connections: number,
  seconds: number,
  slices: number,
): Promise<LoadResult[]> {
  for (const { url } of targets) {
    if (!/^http:\/\/127\.0\.0\.1:/.test(url)) throw new Error(`load goes to loopback only, not ${url}`);
  }
  if (!(Number.isSafeInteger(slices) && slices >= 1))
    throw new Error(`slices must be a whole number ≥ 1, got ${slices}`);
  const tallies: Tally[] = targets.map(() => ({
    seconds: 0,
    latencies: [],
    graphqlErrors: 0,
    firstError: null,
    bodyBytes: 0,
    errors: 0,
    timeouts: 0,
    non2xx: 0,
    cpu: [0, 0],
    next: 0,
  }));
  for (let slice = 0; slice < slices; slice++) {
    for (const [index, target] of targets.entries()) {
      await loadSlice(target, target.bodies ?? bodies, connections, seconds / slices, tallies[index]);
    }
  }
  return tallies.map((tally) => summarize(tally, connections));
}

async function loadSlice(
  target: LoadTarget,
  bodies: readonly string[],
  connections: number,
  seconds: number,
  tally: Tally,
): Promise<void> {
  const measured = target.measured ?? {};
  const cpuBefore = [cpuSeconds(measured.server), cpuSeconds(measured.database)];
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: target.url,
        connections,
        duration: seconds,
        // Slow answers are latency, not errors: a 64-connection queue on a 10-connection pool
        // can take seconds (autocannon's default timeout is 10 s).
        timeout: 120,
        method: "POST",
        headers: { "content-type": "application/json", ...target.headers },
        requests: [
          {
            setupRequest: (request) => ({ ...request, body: bodies[tally.next++ % bodies.length] }),
            onResponse: (status, body) => {
              tally.bodyBytes += Buffer.byteLength(body);
              if (status < 200 || status >= 300) {
                tally.firstError ??= `HTTP ${status}: ${body.slice(0, 500)}`;
              } else if (GRAPHQL_ERRORS.test(body)) {
                tally.graphqlErrors++;
                tally.firstError ??= body.slice(0, 500);
              }
            },
          },
        ],
      },
      (error: unknown, done: autocannon.Result) => (error ? reject(error) : resolve(done)),
    );
    instance.on("response", (_client, status, _bytes, responseTime) => {
      if (status >= 200 && status < 300) tally.latencies.push(responseTime);
    });
  });
  const cpuAfter = [cpuSeconds(measured.server), cpuSeconds(measured.database)];
  for (const i of [0, 1] as const) {
    const [before, after, sum] = [cpuBefore[i], cpuAfter[i], tally.cpu[i]];
    tally.cpu[i] = before === null || after === null || sum === null ? null : sum + (after - before);
  }
  tally.seconds += result.duration;
  tally.errors += result.errors;
  tally.timeouts += result.timeouts;
  tally.non2xx += result.non2xx;
}

function summarize(tally: Tally, connections: number): LoadResult {
  const sorted = Float64Array.from(tally.latencies).sort();
  const ok = Math.max(0, sorted.length - tally.graphqlErrors);
  const perRequest = (cpu: number | null) => (cpu === null || ok === 0 ? null : (cpu * 1000) / ok);
  return {
    connections,
    seconds: tally.seconds,
    requests: ok,
    requestsPerSecond: ok / tally.seconds,
    p50: quantile(sorted, 0.5),
    p99: quantile(sorted, 0.99),
    mean: sorted.length ? sorted.reduce((sum, value) => sum + value, 0) / sorted.length : NaN,
    errors: tally.errors,
    timeouts: tally.timeouts,
    non2xx: tally.non2xx,
    graphqlErrors: tally.graphqlErrors,
    firstError: tally.firstError,
    serverCpuMs: perRequest(tally.cpu[0]),
    databaseCpuMs: perRequest(tally.cpu[1]),
    bytesPerResponse: sorted.length > 0 ? tally.bodyBytes / sorted.length : 0,
  };
}

/** Nearest-rank quantile of sorted values. */
export function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}
