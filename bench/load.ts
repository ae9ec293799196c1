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

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat; null when unreadable. */
export function cpuSeconds(pid: number | null | undefined): number | null {
  if (!pid) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command (which may hold spaces): state is field 3; utime, stime are 14, 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return null;
  }
}

/** USER_HZ: 100 on every Linux that Node runs on. */
const CLOCK_TICKS = 100;

const GRAPHQL_ERRORS = /"errors":\s*\[/;

export async function runLoad(
  url: string,
  bodies: readonly string[],
  connections: number,
  seconds: number,
  measured: Measured = {},
): Promise<LoadResult> {
  if (!/^http:\/\/127\.0\.0\.1:/.test(url)) throw new Error(`load goes to loopback only, not ${url}`);
  let next = 0;
  let graphqlErrors = 0;
  let firstError: string | null = null;
  const latencies: number[] = [];
  let bodyBytes = 0;
  const cpuBefore = [cpuSeconds(measured.server), cpuSeconds(measured.database)];
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url,
        connections,
        duration: seconds,
        // Slow answers are latency, not errors: a 64-connection queue on a 10-connection pool
        // can take seconds (autocannon's default timeout is 10 s).
        timeout: 120,
        method: "POST",
        headers: { "content-type": "application/json" },
        requests: [
          {
            setupRequest: (request) => ({ ...request, body: bodies[next++ % bodies.length] }),
            onResponse: (status, body) => {
              bodyBytes += Buffer.byteLength(body);
              if (status < 200 || status >= 300) {
                firstError ??= `HTTP ${status}: ${body.slice(0, 500)}`;
              } else if (GRAPHQL_ERRORS.test(body)) {
                graphqlErrors++;
                firstError ??= body.slice(0, 500);
              }
            },
          },
        ],
      },
      (error: unknown, done: autocannon.Result) => (error ? reject(error) : resolve(done)),
    );
    instance.on("response", (_client, status, _bytes, responseTime) => {
      if (status >= 200 && status < 300) latencies.push(responseTime);
    });
  });
  const cpuAfter = [cpuSeconds(measured.server), cpuSeconds(measured.database)];
  const sorted = Float64Array.from(latencies).sort();
  const ok = Math.max(0, sorted.length - graphqlErrors);
  const perRequest = (i: number) => {
    const [before, after] = [cpuBefore[i], cpuAfter[i]];
    return before === null || after === null || ok === 0 ? null : ((after - before) * 1000) / ok;
  };
  return {
    connections,
    seconds: result.duration,
    requests: ok,
    requestsPerSecond: ok / result.duration,
    p50: quantile(sorted, 0.5),
    p99: quantile(sorted, 0.99),
    mean: sorted.length ? sorted.reduce((sum, value) => sum + value, 0) / sorted.length : NaN,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    graphqlErrors,
    firstError,
    serverCpuMs: perRequest(0),
    databaseCpuMs: perRequest(1),
    bytesPerResponse: sorted.length > 0 ? bodyBytes / sorted.length : 0,
  };
}

/** Nearest-rank quantile of sorted values. */
export function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}
