/**
 * The gateway as a child process (`node --import tsx gateway.ts`), for the example, the tests
 * and the benchmark: started on a supergraph file, its URL read from its first line.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { join, resolve } from "node:path";

/** The repository's root. */
export const ROOT = resolve(__dirname, "..", "..");

export interface RunningGateway {
  url: string;
  child: ChildProcess;
  /** What it printed on stderr so far. */
  stderr(): string;
  /** SIGTERM, then its end. */
  stop(): Promise<void>;
}

/** Starts the gateway on `supergraphFile` at `host:port` (0: any free port); resolves once it listens. */
export function startGateway(
  supergraphFile: string,
  { host = "127.0.0.1", port = 0, timeoutMs = 60_000 } = {},
): Promise<RunningGateway> {
  const env = { ...process.env };
  // A test runner's loaders stay out of the child.
  delete env.NODE_OPTIONS;
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      join(ROOT, "examples", "supergraph", "gateway.ts"),
      "--supergraph",
      supergraphFile,
      "--host",
      host,
      "--port",
      String(port),
    ],
    { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] },
  );
  let stdout = "";
  let stderr = "";
  const exited = new Promise<void>((done) => child.once("close", () => done()));
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the gateway did not start within ${timeoutMs} ms:\n${stderr}`));
    }, timeoutMs);
    child.stdout!.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
      const match = /gateway at (http:\/\/\S+)/.exec(stdout);
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
      reject(new Error(`the gateway exited before it listened:\n${stderr}`));
    });
  });
}
