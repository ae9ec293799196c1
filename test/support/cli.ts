/**
 * The built CLI (`node dist/src/cli.js ...`, as `npx trailgraph` runs it) as a child process:
 * one runner for every test that starts it, whether it waits for the end (`runCli`) or
 * watches, signals or kills the child while it runs (`startCli`).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createReadStream, existsSync } from "node:fs";
import { resolve } from "node:path";

/**
 * The built CLI (`npm test` builds first). TRAILGRAPH_TEST_CLI points the tests at another
 * build (a scratch copy with a deliberate fault, to see them fail).
 */
export const CLI = resolve(process.env.TRAILGRAPH_TEST_CLI ?? "dist/src/cli.js");

/** Fails (for a `beforeAll`) when the CLI has not been built. */
export function requireBuiltCli(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
}

/** How a child ended, with everything it printed. */
export interface CliRun {
  code: number | null;
  /** The signal that ended it (null when it exited by itself). */
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface CliOptions {
  /**
   * DATABASE_URL for the child. Without it (and without one in `env`) the child has none,
   * whatever this process has.
   */
  databaseUrl?: string;
  cwd: string;
  /** A file whose bytes are piped into the child's standard input. */
  stdinFile?: string;
  /** Writes the child's standard input (and ends it) instead; `output` is what the child printed so far. */
  feed?: (stdin: NodeJS.WritableStream, output: () => { stdout: string; stderr: string }) => Promise<void>;
  /** More environment for the child, over this process's and DATABASE_URL. */
  env?: Record<string, string | undefined>;
}

/** A child still running: signal it with `child.kill`, read its output so far, await its end. */
export interface RunningCli {
  child: ChildProcess;
  /** Resolves once the child has ended (rejects if it could not start, or if `feed` fails). */
  exited: Promise<CliRun>;
  stdout(): string;
  stderr(): string;
}

/** Starts `node dist/src/cli.js <args>` and returns at once. */
export function startCli(args: string[], options: CliOptions): RunningCli {
  const started = Date.now();
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: options.cwd,
    env: { ...process.env, DATABASE_URL: options.databaseUrl, ...options.env },
    stdio: [options.stdinFile || options.feed ? "pipe" : "ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk) => (stdout += chunk));
  child.stderr?.on("data", (chunk) => (stderr += chunk));
  const exited = new Promise<CliRun>((resolvePromise, reject) => {
    if (child.stdin) {
      child.stdin.on("error", () => {}); // the child may exit before reading everything
      if (options.stdinFile) createReadStream(options.stdinFile).pipe(child.stdin);
      else options.feed?.(child.stdin, () => ({ stdout, stderr })).then(() => child.stdin?.end(), reject);
    }
    child.on("error", reject);
    child.on("close", (code, signal) => resolvePromise({ code, signal, stdout, stderr, ms: Date.now() - started }));
  });
  return { child, exited, stdout: () => stdout, stderr: () => stderr };
}

/** Runs `node dist/src/cli.js <args>`; resolves when the child exits. */
export function runCli(args: string[], options: CliOptions): Promise<CliRun> {
  return startCli(args, options).exited;
}

/** A run's `--json` summary. */
export function summaryOf(run: CliRun): Record<string, any> {
  try {
    return JSON.parse(run.stdout);
  } catch {
    throw new Error(`not a JSON summary (exit ${run.code}):\n${run.stdout}\n${run.stderr}`);
  }
}

/**
 * Starts `serve --port 0 [args]`, waits for its address, returns it, the child and a stop
 * function (SIGTERM, then the child's end).
 */
export async function serve(options: CliOptions & { args?: string[] }) {
  const running = startCli(["serve", "--port", "0", ...(options.args ?? [])], options);
  const url = await new Promise<string>((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start:\n${running.stderr()}`)), 60_000);
    running.child.stderr!.on("data", () => {
      const match = /GraphQL API at (http:\/\/\S+)/.exec(running.stderr());
      if (match) {
        clearTimeout(timer);
        resolvePromise(match[1]);
      }
    });
    running.exited.then(() => reject(new Error(`serve exited:\n${running.stderr()}`)), reject);
  });
  return {
    url,
    child: running.child,
    log: running.stderr,
    async query(query: string) {
      const response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query }),
      });
      return (await response.json()) as { data: any; errors?: unknown[] };
    },
    async stop() {
      running.child.kill("SIGTERM");
      return running.exited;
    },
  };
}
