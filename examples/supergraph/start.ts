/**
 * `npm run example:supergraph [-- --port 4000]`: TrailGraph on a fresh store of the sample
 * events, the example CMDB subgraph and a gateway over both, all on 127.0.0.1; prints the
 * gateway's URL. The gateway listens on the port given (4000), TrailGraph on the next one, the
 * CMDB on the one after. Ctrl-C stops everything and removes the store.
 *
 * TrailGraph is the built CLI (`npm run build` first; the npm script does it), run as
 * `trailgraph ingest samples/` and `trailgraph serve`; the supergraph is composed from the SDL
 * each subgraph serves (`_service { sdl }`), as a schema registry would.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { sampleCmdbData, startCmdb } from "./cmdb";
import { composeSupergraph, fetchSubgraphSdl } from "./compose";
import { ROOT, startGateway } from "./processes";

const CLI = join(ROOT, "dist", "src", "cli.js");
const HOST = "127.0.0.1";

/** The environment of TrailGraph's processes: the example store, open on loopback (no credentials). */
function trailgraphEnv(databaseUrl: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: databaseUrl };
  for (const name of Object.keys(env)) {
    if (/^TRAILGRAPH_(JWT|JWKS|API_KEYS|OPEN|TRUSTED)/.test(name) || name === "NODE_OPTIONS") delete env[name];
  }
  return env;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { port: { type: "string", default: "4000" } } });
  const port = Number(values.port);
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
  // Whatever ends this process ends the children and removes the store (synchronously, on exit).
  const dir = await mkdtemp(join(tmpdir(), "trailgraph-supergraph-"));
  const children: ChildProcess[] = [];
  process.on("exit", () => {
    for (const child of children) child.kill("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  });
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => process.exit(0));

  // 1. A store of the sample events.
  const env = trailgraphEnv(`sqlite:${join(dir, "trailgraph.sqlite")}`);
  await run(["ingest", "--quiet", join(ROOT, "samples")], env);

  // 2. TrailGraph, serving it (its request log, one line a request with its SQL statements, on stdout).
  const trailgraph = spawn(process.execPath, [CLI, "serve", "--host", HOST, "--port", String(port + 1)], {
    cwd: ROOT,
    env,
    stdio: ["ignore", "inherit", "pipe"],
  });
  children.push(trailgraph);
  const trailgraphUrl = await new Promise<string>((resolve, reject) => {
    let stderr = "";
    trailgraph.stderr!.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
      const match = /GraphQL API at (http:\/\/\S+)/.exec(stderr);
      if (match) resolve(match[1]);
    });
    trailgraph.once("close", () => reject(new Error(`trailgraph serve exited:\n${stderr}`)));
  });

  // 3. The CMDB (in this process).
  const cmdb = await startCmdb(sampleCmdbData(), { host: HOST, port: port + 2 });

  // 4. The supergraph, from what each subgraph serves.
  const supergraphFile = join(dir, "supergraph.graphql");
  await writeFile(
    supergraphFile,
    composeSupergraph([
      { name: "trailgraph", url: trailgraphUrl, sdl: await fetchSubgraphSdl(trailgraphUrl) },
      { name: "cmdb", url: cmdb.url, sdl: await fetchSubgraphSdl(cmdb.url) },
    ]),
  );

  // 5. The gateway.
  const gateway = await startGateway(supergraphFile, { host: HOST, port });
  children.push(gateway.child);
  console.log(
    [
      `TrailGraph subgraph: ${trailgraphUrl}`,
      `CMDB subgraph:       ${cmdb.url}`,
      `supergraph:          ${supergraphFile}`,
      "",
      `Gateway: ${gateway.url}`,
      "",
      "Try:",
      `  curl -s ${gateway.url} -H 'content-type: application/json' \\`,
      `    -d '{"query": "{ instances(first: 2) { nodes { name owner { name } resource { events(first: 3) { nodes { eventName eventTime userIdentity { userName } } } } } } }"}'`,
      "",
      "Ctrl-C stops all three.",
    ].join("\n"),
  );
}

/** Runs `trailgraph <args>` to its end; throws with its output when it fails. */
function run(args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    child.once("error", reject);
    child.once("close", (code) =>
      code === 0 ? resolve() : reject(new Error(`trailgraph ${args.join(" ")} exited with ${code}:\n${output}`)),
    );
  });
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
