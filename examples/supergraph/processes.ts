/**
 * The gateway (and the CMDB) as child processes (`node --import tsx <script>`), for the example,
 * the tests and the benchmark: each started with its arguments, its URL read from what it prints.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { join, resolve } from "node:path";

/** The repository's root. */
export const ROOT = resolve(__dirname, "..", "..");

export interface RunningChild {
  url: string;
  child: ChildProcess;
  /** What it printed on stderr so far. */
  stderr(): string;
  /** SIGTERM, then its end. */
  stop(): Promise<void>;
}

/** A running gateway. */
export type RunningGateway = RunningChild;

/** Starts the gateway on `supergraphFile` at `host:port` (0: any free port); resolves once it listens. */
export function startGateway(
  supergraphFile: string,
  { host = "127.0.0.1", port = 0, timeoutMs = 60_000 } = {},
): Promise<RunningChild> {
  return startScript(
    "gateway.ts",
    ["--supergraph", supergraphFile, "--host", host, "--port", String(port)],
    /gateway at (http:\/\/\S+)/,
    timeoutMs,
  );
}

/** Starts the CMDB subgraph on the records of `dataFile` (JSON, as cmdb/data.json) in a process of its own. */
export function startCmdbProcess(
  dataFile: string,
  { host = "127.0.0.1", port = 0, timeoutMs = 60_000 } = {},
): Promise<RunningChild> {
  return startScript(
    join("cmdb", "index.ts"),
    ["--data", dataFile, "--host", host, "--port", String(port)],
    /cmdb at (http:\/\/\S+)/,
    timeoutMs,
  );
}

/** `node --import tsx examples/supergraph/<script> <args>`, resolved with the URL its stdout announces. */
function startScript(script: string, args: string[], announced: RegExp, timeoutMs: number): Promise<RunningChild> {
  const env = { ...process.env };
  // A test runner's loaders stay out of the child.
  delete env.NODE_OPTIONS;
  const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "examples", "supergraph", script), ...args], {
    cwd: ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  const exited = new Promise<void>((done) => child.once("close", () => done()));
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${script} did not start within ${timeoutMs} ms:\n${stderr}`));
    }, timeoutMs);
    child.stdout!.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
      const match = announced.exec(stdout);
      if (!match) return;
      clearTimeout(timer);
      resolvePromise({
        url: match[1],
        child,
        stderr: () => stderr,
        async stop() {
          if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
          await exited;
        },
      });
    });
    child.once("error", reject);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`${script} exited before it listened:\n${stderr}`));
    });
  });
}
