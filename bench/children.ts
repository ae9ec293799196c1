/**
 * Child processes of the benchmark: the real `trailgraph` CLI (migrate, ingest, serve) and
 * the raw limit server. Every child is tracked and killed when the harness exits, however it
 * exits; servers listen on 127.0.0.1 only.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import * as net from "node:net";
import { join } from "node:path";
import { processTree } from "./load";
import { CLI, ROOT } from "./trailgraph";

const running = new Set<ChildProcess>();

function killAll(): void {
  for (const child of running) {
    try {
      child.kill("SIGKILL");
    } catch {
      /* already gone */
    }
  }
}
process.on("exit", killAll);

/**
 * The environment children get: ours, minus NODE_OPTIONS (a test runner's loaders stay out)
 * unless `extra` sets it.
 */
function childEnv(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_OPTIONS;
  Object.assign(env, extra);
  for (const [key, value] of Object.entries(extra)) if (value === undefined) delete env[key];
  return env;
}

interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function track(child: ChildProcess): Promise<Finished> {
  running.add(child);
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
  return new Promise((resolve, reject) => {
    child.once("error", (error) => {
      running.delete(child);
      reject(error);
    });
    child.once("close", (code, signal) => {
      running.delete(child);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Runs `trailgraph <args>` to completion; throws with its output when it fails. */
export async function runCli(args: string[], databaseUrl: string): Promise<Finished> {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: ROOT,
    env: childEnv({ DATABASE_URL: databaseUrl, TRAILGRAPH_LOG_SQL: undefined }),
    stdio: ["ignore", "pipe", "pipe"],
  });
  const done = await track(child);
  if (done.code !== 0) {
    throw new Error(
      `trailgraph ${args.join(" ")} exited with ${done.code ?? done.signal}\n${done.stdout}${done.stderr}`,
    );
  }
  return done;
}

export interface IngestRun {
  /** The CLI's `--json` summary (`rejected` is a count, or the list itself in older builds). */
  summary: {
    read: number;
    inserted: number;
    duplicates: number;
    rejected: number | unknown[];
    rejects?: unknown[];
    elapsedMs: number;
  };
  /** Spawn to exit. */
  wallSeconds: number;
  /**
   * Peak resident set size of the process that did the work, bytes (VmHWM at exit on Linux, else
   * getrusage ru_maxrss; bench/peak-rss.cjs): the largest of the processes the command ran as (the
   * CLI and the child it forks to bound its heap).
   */
  peakRssBytes: number;
  /** Every process's own peak, in the order they exited (the forked child first). */
  processes: Array<{ pid: number; forked: boolean; peakRssBytes: number }>;
  /** The highest VmHWM of any of those processes seen while polling /proc (a cross-check of peakRssBytes). */
  polledPeakRssBytes: number | null;
}

/** The figures every ingest table reports for one run: speed from the CLI's summary, times, peaks. */
export function ingestFigures(run: IngestRun) {
  return {
    eventsPerSecond: run.summary.inserted / (run.summary.elapsedMs / 1000),
    elapsedSeconds: run.summary.elapsedMs / 1000,
    wallSeconds: run.wallSeconds,
    peakRssBytes: run.peakRssBytes,
    processes: run.processes,
    polledPeakRssBytes: run.polledPeakRssBytes,
  };
}

/**
 * `trailgraph ingest --json <inputs>` with the peak-RSS probe preloaded (the child the CLI forks
 * inherits it); `nodeArgs` go to node, `env` over the children's environment.
 */
export async function runIngest(
  inputs: string[],
  databaseUrl: string,
  nodeArgs: string[] = [],
  env: Record<string, string | undefined> = {},
): Promise<IngestRun> {
  const started = performance.now();
  const child = spawn(
    process.execPath,
    [...nodeArgs, "--require", join(ROOT, "bench", "peak-rss.cjs"), CLI, "ingest", "--json", ...inputs],
    {
      cwd: ROOT,
      env: childEnv({ DATABASE_URL: databaseUrl, TRAILGRAPH_LOG_SQL: undefined, ...env }),
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let polled: number | null = null;
  const poll = setInterval(() => {
    for (const pid of processTree(child.pid)) {
      try {
        const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
        if (match) polled = Math.max(polled ?? 0, Number(match[1]) * 1024);
      } catch {
        /* not on Linux, or already gone */
      }
    }
  }, 100);
  const done = await track(child).finally(() => clearInterval(poll));
  const wallSeconds = (performance.now() - started) / 1000;
  const line = done.stdout
    .trim()
    .split("\n")
    .reverse()
    .find((text) => text.startsWith("{"));
  if (done.code !== 0 || !line) {
    throw new Error(
      `trailgraph ingest exited with ${done.code ?? done.signal}\n${done.stdout.slice(-4000)}${done.stderr.slice(-4000)}`,
    );
  }
  const processes = [
    ...done.stderr.matchAll(/^\[peak-rss\] (\d+)(?: pid=(\d+) forked=([01]))?(?: source=\w+)?$/gm),
  ].map((match) => ({
    pid: Number(match[2] ?? child.pid),
    forked: match[3] === "1",
    peakRssBytes: Number(match[1]) * 1024,
  }));
  if (processes.length === 0) throw new Error(`the ingest child reported no peak RSS\n${done.stderr.slice(-2000)}`);
  return {
    summary: JSON.parse(line),
    wallSeconds,
    peakRssBytes: Math.max(...processes.map((p) => p.peakRssBytes)),
    processes,
    polledPeakRssBytes: polled,
  };
}

export interface Server {
  url: string;
  pid: number;
  /** SIGTERM, wait for the exit (SIGKILL after 15 s). */
  stop(): Promise<void>;
}

async function startServer(
  args: string[],
  env: NodeJS.ProcessEnv,
  ready: RegExp,
  path: string,
  what: string,
): Promise<Server> {
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  const finished = track(child);
  let output = "";
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not start within 60 s\n${output}`)), 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString("utf8");
      const match = ready.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    finished.then(
      (done) => {
        clearTimeout(timer);
        reject(new Error(`${what} exited with ${done.code ?? done.signal} before it was ready\n${output}`));
      },
      (error: Error) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
  let stopping: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}${path}`,
    pid: child.pid!,
    stop: () =>
      (stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
        await finished.catch(() => undefined);
        clearTimeout(timer);
      })()),
  };
}

/**
 * The node flags `npm start` serves with (package.json's `start` script: the words between
 * `node` and the script), so that the benchmark runs TrailGraph as it is started.
 */
export function serveNodeFlags(): string[] {
  const start = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> })
    .scripts.start;
  const words = start.trim().split(/\s+/);
  const script = words.findIndex((word) => word.endsWith("cli.js"));
  if (words[0] !== "node" || script < 0 || words[script + 1] !== "serve") {
    throw new Error(`package.json's start script '${start}' is not \`node [flags] <cli.js> serve\``);
  }
  return words.slice(1, script);
}

/**
 * `trailgraph serve [--workers N]` on a free loopback port. `nodeArgs` go before the script (e.g.
 * --cpu-prof); `cli` runs another build (experiments with a patched copy of dist/).
 */
export async function startTrailGraph(
  databaseUrl: string,
  {
    nodeArgs = [],
    cli = CLI,
    workers = 1,
    env = {},
  }: {
    nodeArgs?: string[];
    cli?: string;
    workers?: number;
    /** Over the server's environment (e.g. the per-client budget back on). */
    env?: Record<string, string | undefined>;
  } = {},
): Promise<Server> {
  const port = await freePort();
  return startServer(
    [
      ...serveNodeFlags(),
      ...nodeArgs,
      cli,
      "serve",
      "--port",
      String(port),
      "--host",
      "127.0.0.1",
      ...(workers > 1 ? ["--workers", String(workers)] : []),
    ],
    // The request log line is off: the harness keeps all a server prints in memory, and the
    // figures compare the query path with the raw limit's, which logs nothing. So is the
    // per-client budget: the load generator is one client asking as fast as it can, which the
    // budget exists to slow down (each operation's cost is still computed and checked).
    childEnv({
      DATABASE_URL: databaseUrl,
      TRAILGRAPH_LOG_SQL: undefined,
      TRAILGRAPH_LOG_REQUESTS: "off",
      TRAILGRAPH_COST_PER_SECOND: "off",
      TRAILGRAPH_COST_BURST: undefined,
      ...env,
    }),
    /GraphQL API at http:\/\/127\.0\.0\.1:(\d+)/,
    "/graphql",
    "trailgraph serve",
  );
}

/**
 * The raw limit server (bench/raw-server.ts) on a free loopback port, with TrailGraph's node flags
 * and as many processes.
 */
export async function startRawServer(databaseUrl: string, workers = 1): Promise<Server> {
  return startServer(
    [...serveNodeFlags(), "--import", "tsx", join(ROOT, "bench", "raw-server.ts")],
    childEnv({ RAW_DATABASE_URL: databaseUrl, PORT: "0", RAW_WORKERS: String(workers) }),
    /listening (\d+)/,
    "/graphql",
    "the raw server",
  );
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error("no free port"))));
    });
  });
}
