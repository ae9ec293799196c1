/**
 * `npm run bench:federation [-- flags]`: one federated operation through a real gateway, beside
 * the same data asked of TrailGraph directly.
 *
 * One dataset, generated and ingested as `npm run bench` does, on MySQL; `trailgraph serve` (one
 * process, request log off); the example CMDB subgraph (examples/supergraph/cmdb) in a process
 * of its own, holding a record for each of the first --instances ECS instances of the store; the
 * supergraph composed from the SDL both serve; the gateway (examples/supergraph/gateway.ts) in a
 * process of its own. Everything on 127.0.0.1.
 *
 *   federated  through the gateway: 50 CMDB instances (a page of `instances`, --pages pages in
 *              turn) → each one's TrailGraph events (first: 5) → their identities
 *   direct     TrailGraph alone, the same events of the same 50 resources: `resources` filtered
 *              by their IDs
 *
 * Before any load, the first page's answer through the gateway must equal the direct one. Then
 * TrailGraph's SQL statements per request, counted in this process (dist/'s app on the same
 * database, with the Store's counter, behind a second gateway): the federated operation for 1, 10
 * and 50 instances must cost the same (the run exits 1 otherwise), and the direct one is given
 * beside it. Then load at --connections, in --slices turns alternating federated and direct:
 * req/s, p50/p99, TrailGraph's CPU per request, and the gateway's and the CMDB's CPU per
 * federated request.
 *
 *   --events 100000 --accounts 200 --seed 4 --days 30   the dataset (the generator's options)
 *   --database URL        reuse a database that `trailgraph ingest` filled: no generate, no ingest
 *   --instances 500       CMDB records (ECS instances of the store, in first-seen order)
 *   --page 50             instances per federated request;  --pages 10  pages the requests rotate through
 *   --connections 16 --seconds 10 --slices 5 --warmup 3
 *   --keep                keep the database and the generated files
 *
 * MYSQL_URL=mysql://user:pass@host:port/ uses that server; otherwise a throwaway MariaDB/MySQL
 * (test/support/mysql-server.ts) is started and removed at the end. Prints a markdown table and
 * writes every figure to .bench/federation-last-run.json. Needs `npm run build` (the script runs it).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import { join } from "node:path";
import { isDeepStrictEqual, parseArgs } from "node:util";
import { cmdbDataFor, type CmdbData } from "../examples/supergraph/cmdb";
import { composeSupergraph, fetchSubgraphSdl } from "../examples/supergraph/compose";
import { startCmdbProcess, startGateway, type RunningChild } from "../examples/supergraph/processes";
import { createTestDatabase, startThrowawayMysql, type ThrowawayMysql } from "../test/support/mysql-server";
import { runCli, runIngest, startTrailGraph, type Server } from "./children";
import { DATASET_OPTIONS, datasetToGenerate, positive } from "./dataset";
import { BENCH_BUFFER_POOL_MB } from "./harness";
import { cpuSeconds, runAlternating, runLoad, type LoadResult } from "./load";
import { packageVersion, ROOT, trailgraph } from "./trailgraph";

const OUT = join(ROOT, ".bench", "federation-last-run.json");
const INSTANCE = "ACS::ECS::Instance";
const EVENT_FIELDS = "eventId eventName eventTime userIdentity { type userName principalId }";

const FEDERATED = `query Federated($first: Int!, $after: String) {
  instances(first: $first, after: $after) {
    nodes { resourceId name owner { name } resource { type resourceId events(first: 5) { nodes { ${EVENT_FIELDS} } } } }
  }
}`;

/** The same events of the same resources, asked of TrailGraph directly: one list filtered by their IDs. */
const DIRECT = `query Direct($first: Int!, $ids: [String!]) {
  resources(first: $first, filter: { types: ["${INSTANCE}"], resourceIds: $ids }) {
    nodes { type resourceId events(first: 5) { nodes { ${EVENT_FIELDS} } } }
  }
}`;

interface Answer {
  data?: any;
  errors?: unknown[];
}

async function post(url: string, query: string, variables: Record<string, unknown> = {}): Promise<any> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as Answer;
  if (!response.ok || body.errors?.length) {
    throw new Error(`${url} answered ${response.status}: ${JSON.stringify(body.errors ?? body).slice(0, 1000)}`);
  }
  return body.data;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      ...DATASET_OPTIONS,
      database: { type: "string" },
      instances: { type: "string", default: "500" },
      page: { type: "string", default: "50" },
      pages: { type: "string", default: "10" },
      connections: { type: "string", default: "16" },
      seconds: { type: "string", default: "10" },
      slices: { type: "string", default: "5" },
      warmup: { type: "string", default: "3" },
      keep: { type: "boolean", default: false },
    },
  });
  const generate = datasetToGenerate(values);
  const instanceCount = positive("--instances", values.instances);
  const page = positive("--page", values.page);
  const pages = positive("--pages", values.pages);
  const connections = positive("--connections", values.connections);
  const seconds = positive("--seconds", values.seconds);
  const slices = positive("--slices", values.slices);
  const warmup = Number(values.warmup);
  const log = (line: string) =>
    process.stderr.write(`[federation ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

  // A private temporary folder, the throwaway server's included (see bench/run.ts).
  const privateTmp = mkdtempSync(join(os.tmpdir(), "trailgraph-bench-"));
  process.env.TMPDIR = privateTmp;
  if (!values.keep) process.on("exit", () => rmSync(privateTmp, { recursive: true, force: true }));
  const work = join(privateTmp, "federation");
  mkdirSync(work, { recursive: true });
  const startedAt = new Date();
  const cleanups: Array<() => Promise<unknown>> = [];
  let throwaway: ThrowawayMysql | null = null;
  try {
    // 1. The dataset.
    let databaseUrl = values.database?.trim() ?? "";
    if (databaseUrl === "") {
      let serverUrl = process.env.MYSQL_URL?.trim() ?? "";
      if (serverUrl === "") {
        log("starting a throwaway MariaDB/MySQL server (test/support/mysql-server.ts)");
        throwaway = await startThrowawayMysql({ bufferPoolMb: BENCH_BUFFER_POOL_MB });
        serverUrl = throwaway.url;
      }
      log(`generating ${generate.events} events (${generate.accounts} accounts, seed ${generate.seed})`);
      const datasetDir = join(work, "dataset");
      await trailgraph.ossWriter().writeGenerated({ ...generate, out: datasetDir, format: "oss" });
      const db = await createTestDatabase(serverUrl, `tg_bench_${Date.now().toString(36)}_federation`);
      if (!values.keep) cleanups.push(db.drop);
      await runCli(["migrate"], db.url);
      const ingested = await runIngest([datasetDir], db.url);
      log(`ingested ${ingested.summary.inserted} events in ${(ingested.summary.elapsedMs / 1000).toFixed(1)} s`);
      databaseUrl = db.url;
    }

    // 2. TrailGraph, and the CMDB's records for its first ECS instances.
    const server: Server = await startTrailGraph(databaseUrl);
    cleanups.push(() => server.stop());
    const listed = await post(
      server.url,
      `query ($n: Int!) { resources(first: $n, filter: { types: ["${INSTANCE}"] }) { nodes { type resourceId } } accounts(first: 500) { nodes { accountId } } }`,
      { n: Math.min(instanceCount, 500) },
    );
    const resources = listed.resources.nodes as Array<{ type: string; resourceId: string }>;
    if (resources.length < page)
      throw new Error(`the store has ${resources.length} ECS instances, fewer than --page ${page}`);
    const data: CmdbData = cmdbDataFor(
      resources,
      listed.accounts.nodes.map((account: { accountId: string }) => account.accountId),
    );
    const dataFile = join(work, "cmdb.json");
    writeFileSync(dataFile, JSON.stringify(data));
    const cmdb = await startCmdbProcess(dataFile);
    cleanups.push(() => cmdb.stop());

    // 3. The supergraph and the gateway over the serving TrailGraph.
    const gateway = await gatewayOver(server.url, cmdb.url, join(work, "supergraph.graphql"));
    cleanups.push(() => gateway.stop());
    log(`gateway at ${gateway.url}, TrailGraph at ${server.url}, CMDB at ${cmdb.url}`);

    // 4. The request bodies: --pages pages of --page instances, and the same resources directly.
    const cursors: Array<string | null> = [null];
    for (let k = 1; k < pages; k++) {
      const { instances } = await post(
        cmdb.url,
        `query ($first: Int!, $after: String) { instances(first: $first, after: $after) { pageInfo { endCursor hasNextPage } } }`,
        { first: page, after: cursors[k - 1] },
      );
      if (!instances.pageInfo.hasNextPage) break;
      cursors.push(instances.pageInfo.endCursor);
    }
    const federatedBodies = cursors.map((after) =>
      JSON.stringify({ query: FEDERATED, variables: { first: page, after } }),
    );
    const directVariables = cursors.map((_, k) => ({
      first: page,
      ids: data.instances.slice(k * page, (k + 1) * page).map((instance) => instance.resourceId),
    }));
    const directBodies = directVariables.map((variables) => JSON.stringify({ query: DIRECT, variables }));

    // 5. The same answer both ways.
    const through = (await post(gateway.url, FEDERATED, { first: page, after: null })).instances.nodes;
    const direct = new Map<string, { events: unknown }>(
      (await post(server.url, DIRECT, directVariables[0])).resources.nodes.map((node: any) => [node.resourceId, node]),
    );
    for (const node of through) {
      if (!isDeepStrictEqual(node.resource.events, direct.get(node.resourceId)?.events)) {
        throw new Error(`instance ${node.resourceId}: the gateway's events differ from TrailGraph's own`);
      }
    }
    const eventCount = through.reduce((sum: number, node: any) => sum + node.resource.events.nodes.length, 0);
    log(`page 0: ${through.length} instances, ${eventCount} events, the same through the gateway as directly`);

    // 6. TrailGraph's statements per request, counted in this process.
    const statements = await countStatements(databaseUrl, cmdb.url, work, page, directVariables[0]);
    log(`statements per request: ${JSON.stringify(statements)}`);
    const federatedCounts = Object.values(statements.federated);
    if (new Set(federatedCounts).size !== 1) {
      throw new Error(
        `TrailGraph's statements per federated request grow with the instances: ${JSON.stringify(statements)}`,
      );
    }

    // 7. Load: warm-up, then federated and direct in alternating turns.
    const targets = [
      { url: gateway.url, bodies: federatedBodies, measured: { server: server.pid } },
      { url: server.url, bodies: directBodies, measured: { server: server.pid } },
    ];
    if (warmup > 0) for (const target of targets) await runLoad(target.url, target.bodies, connections, warmup);
    const before = { gateway: cpuSeconds(gateway.child.pid), cmdb: cpuSeconds(cmdb.child.pid) };
    const [federated, directLoad] = await runAlternating(targets, federatedBodies, connections, seconds, slices);
    const after = { gateway: cpuSeconds(gateway.child.pid), cmdb: cpuSeconds(cmdb.child.pid) };
    const perRequest = (a: number | null, b: number | null) =>
      a === null || b === null || federated.requests === 0 ? null : ((b - a) * 1000) / federated.requests;
    for (const [label, result] of [
      ["federated", federated],
      ["direct", directLoad],
    ] as const) {
      if (result.errors || result.timeouts || result.non2xx || result.graphqlErrors) {
        throw new Error(`${label}: errors under load: ${JSON.stringify(result)}`);
      }
    }
    const report = {
      startedAt: startedAt.toISOString(),
      node: process.version,
      cpus: os.cpus().length,
      packages: Object.fromEntries(
        ["@apollo/gateway", "@apollo/subgraph", "@apollo/server", "graphql-jit"].map((name) => [
          name,
          packageVersion(name),
        ]),
      ),
      dataset: values.database ? { reused: true } : generate,
      instances: data.instances.length,
      page,
      pages: cursors.length,
      statements,
      load: { federated, direct: directLoad },
      gatewayCpuMsPerRequest: perRequest(before.gateway, after.gateway),
      cmdbCpuMsPerRequest: perRequest(before.cmdb, after.cmdb),
    };
    mkdirSync(join(ROOT, ".bench"), { recursive: true });
    writeFileSync(OUT, JSON.stringify(report, null, 2));
    console.log(
      render(
        report.statements,
        federated,
        directLoad,
        report.gatewayCpuMsPerRequest,
        report.cmdbCpuMsPerRequest,
        page,
        connections,
      ),
    );
    log(`every figure in ${OUT}`);
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    await throwaway?.stop();
  }
}

/** The supergraph of TrailGraph at `trailgraphUrl` and the CMDB, written to `file`, behind a gateway process. */
async function gatewayOver(trailgraphUrl: string, cmdbUrl: string, file: string): Promise<RunningChild> {
  writeFileSync(
    file,
    composeSupergraph([
      { name: "trailgraph", url: trailgraphUrl, sdl: await fetchSubgraphSdl(trailgraphUrl) },
      { name: "cmdb", url: cmdbUrl, sdl: await fetchSubgraphSdl(cmdbUrl) },
    ]),
  );
  return startGateway(file);
}

/**
 * TrailGraph's statements per request: dist/'s app on the same database in this process (its
 * Store counts every statement), behind a gateway of its own; the federated operation for 1, 10
 * and `page` instances, and the direct one.
 */
async function countStatements(
  databaseUrl: string,
  cmdbUrl: string,
  work: string,
  page: number,
  directVariables: Record<string, unknown>,
) {
  const { storeConfig, statementCounter } = trailgraph.datasource();
  const store = await trailgraph.open().openStore(storeConfig(databaseUrl), { migrate: false });
  const counter = statementCounter(store.dataSource);
  const app = await trailgraph.app().createApp({
    dataSource: store.dataSource,
    schema: await trailgraph.schema().buildTrailGraphSchema(),
    ingest: { token: null, maxBytes: 1024 * 1024 },
  });
  let gateway: RunningChild | null = null;
  try {
    const url = `${await app.listen({ host: "127.0.0.1", port: 0 })}/graphql`;
    gateway = await gatewayOver(url, cmdbUrl, join(work, "supergraph-counted.graphql"));
    const count = async (send: () => Promise<unknown>) => {
      const before = counter.count;
      await send();
      return counter.count - before;
    };
    const federated: Record<string, number> = {};
    for (const first of [...new Set([1, 10, page])]) {
      federated[first] = await count(() => post(gateway!.url, FEDERATED, { first, after: null }));
    }
    const direct = await count(() => post(url, DIRECT, directVariables));
    return { federated, direct };
  } finally {
    await gateway?.stop();
    await app.close();
    await store.dataSource.destroy();
  }
}

function render(
  statements: { federated: Record<string, number>; direct: number },
  federated: LoadResult,
  direct: LoadResult,
  gatewayCpu: number | null,
  cmdbCpu: number | null,
  page: number,
  connections: number,
): string {
  const ms = (value: number | null) => (value === null ? "–" : value.toFixed(2));
  const row = (label: string, result: LoadResult, statementsPerRequest: number, extra: string) =>
    `| ${label} | ${result.requestsPerSecond.toFixed(0)} | ${result.p50.toFixed(1)} | ${result.p99.toFixed(1)} | ${statementsPerRequest} | ${ms(result.serverCpuMs)} | ${extra} |`;
  return [
    `${page} instances → their events (first: 5) → identity, ${connections} connections`,
    "",
    "| operation | req/s | p50 ms | p99 ms | TrailGraph statements/request | TrailGraph CPU ms/request | gateway + CMDB CPU ms/request |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    row("through the gateway", federated, statements.federated[page], `${ms(gatewayCpu)} + ${ms(cmdbCpu)}`),
    row("TrailGraph directly", direct, statements.direct, "–"),
    "",
    `TrailGraph statements per federated request by instances: ${Object.entries(statements.federated)
      .map(([n, s]) => `${n}: ${s}`)
      .join(", ")}`,
  ].join("\n");
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
