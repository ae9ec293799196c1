/**
 * `npm run bench:abuse [-- flags]`: issue 16's abusive shapes and database faults, replayed
 * against a real `trailgraph serve` on a generated MySQL dataset (made as `npm run bench` makes
 * it), with the settings a production server starts with. For each: the HTTP status and error
 * code, the time to the refusal or failure, the server's RSS before and after, and the latency of
 * a simple query (operation b, `event(eventId)`) that another client sends one after another
 * while it runs. Then a mixed load of the four canonical operations at --connections for
 * --mixed-seconds: its errors (none expected) and the server's RSS at the start and the end.
 *
 * Three clients, three API keys (TRAILGRAPH_API_KEYS_FILE, made with `trailgraph apikey create`):
 * the abuser, the bystander whose simple query runs beside each shape, and the mixed load. The
 * per-client budget is on, as by default, except for the mixed load's own server (one client
 * asking as fast as it can is what the budget exists to slow down; `npm run bench` turns it off
 * for the same reason).
 *
 *   --events 100000          dataset size; --accounts 200 --seed 4 --days 30 (the generator's)
 *   --repeat 50              copies of each abusive shape, sent 8 at a time
 *   --pause-seconds 20       how long the database is paused (SIGSTOP), and how long it stays down
 *                            when restarted (longer than the default query timeout, 15 s)
 *   --mixed-seconds 60  --connections 16
 *   --keep                   keep the database and the generated files
 *
 * A throwaway MariaDB/MySQL (test/support/mysql-server.ts) is started and removed at the end: the
 * faults pause and restart it. Prints markdown tables and writes every figure to
 * .bench/abuse-last-run.json. Needs `npm run build` (the script runs it). Loopback only; stops by
 * itself.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startThrowawayMysql, type ThrowawayMysql } from "../test/support/mysql-server";
import { buildEvent } from "../test/support/event-builder";
import { ABUSIVE } from "../test/support/query-shapes";
import { runCli, startTrailGraph, type Server } from "./children";
import { buildDataset, DATASET_OPTIONS, datasetToGenerate, positive, withConnection } from "./dataset";
import { BENCH_BUFFER_POOL_MB, readFacts } from "./harness";
import { quantile, runLoad } from "./load";
import { requestBodies, variableSets, type OpKey } from "./operations";
import { ROOT } from "./trailgraph";

interface Answer {
  status: number;
  code: string | null;
  ms: number;
  retryAfter: string | null;
  text: string;
}

interface Latencies {
  count: number;
  p50: number;
  p99: number;
  max: number;
  /** Answers that were not 200 without errors. */
  failed: number;
}

interface ShapeRow {
  shape: string;
  bytes: number;
  sent: number;
  status: number;
  code: string | null;
  msMedian: number;
  msMax: number;
  rssBeforeMb: number;
  rssAfterMb: number;
  bystander: Latencies;
}

const log = (line: string) => process.stderr.write(`[abuse ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

/** A POST /graphql with a credential; the body as given (malformed ones too). */
async function send(url: string, body: string, key: string | null): Promise<Answer> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (key) headers.authorization = `Bearer ${key}`;
  const began = performance.now();
  const response = await fetch(url, { method: "POST", headers, body, signal: AbortSignal.timeout(120_000) });
  const text = await response.text();
  const ms = performance.now() - began;
  let code: string | null = null;
  try {
    code =
      (JSON.parse(text) as { errors?: Array<{ extensions?: { code?: string } }> }).errors?.[0]?.extensions?.code ??
      null;
  } catch {
    code = "(not JSON)";
  }
  return { status: response.status, code, ms, retryAfter: response.headers.get("retry-after"), text };
}

/** Resident set size of a process, MB (Linux). */
function rssMb(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return match ? Number(match[1]) / 1024 : NaN;
}

/** The bystander: sends its simple query one after another until stopped; its latencies. */
function bystander(url: string, key: string, bodies: readonly string[]) {
  const times: number[] = [];
  let failed = 0;
  let stopped = false;
  const running = (async () => {
    for (let i = 0; !stopped; i++) {
      const answer = await send(url, bodies[i % bodies.length], key).catch(() => null);
      if (!answer || answer.status !== 200 || answer.code !== null) failed++;
      if (answer) times.push(answer.ms);
    }
  })();
  return {
    async stop(): Promise<Latencies> {
      stopped = true;
      await running;
      const sorted = Float64Array.from(times).sort();
      return {
        count: sorted.length,
        p50: quantile(sorted, 0.5),
        p99: quantile(sorted, 0.99),
        max: sorted.length ? sorted[sorted.length - 1] : NaN,
        failed,
      };
    },
  };
}

/** `copies` requests, `concurrency` at a time; their answers in order. */
async function flood(copies: number, concurrency: number, one: () => Promise<Answer>): Promise<Answer[]> {
  const answers: Answer[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, copies) }, async () => {
      while (next < copies) {
        next++;
        answers.push(await one());
      }
    }),
  );
  return answers;
}

function middle(values: number[]): number {
  const sorted = Float64Array.from(values).sort();
  return quantile(sorted, 0.5);
}

interface FaultRow {
  fault: string;
  seconds: number;
  /** Bystander requests started during the fault: how many, by status and code, and the slowest. */
  requests: number;
  answers: Record<string, number>;
  slowestMs: number;
  /** Seconds from the database's return to the first bystander answer without errors. */
  recoverySeconds: number;
  live: { statuses: Record<string, number>; maxMs: number };
  ready: { statuses: Record<string, number>; maxMs: number };
  pushes: { sent: number; refused: Record<string, number>; events: number; stored: number };
  /** Answers that named the database's address or the driver's words. */
  leaks: number;
}

/** How many of each. */
function tally(values: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A database fault under load: the bystander starts a request every 500 ms (each waits as long as
 * it takes), /health/live and /health/ready are asked every 500 ms, and a pusher POSTs batches of
 * 100 new events to /ingest, pushing a batch again after a refusal until it is stored. `act`
 * breaks the database, `heal` mends it after `seconds`; the run goes on until the bystander is
 * answered again, plus 3 s.
 */
async function underFault(options: {
  name: string;
  seconds: number;
  server: Server;
  databaseUrl: string;
  databasePort: number;
  bystanderKey: string;
  pusherKey: string;
  simple: readonly string[];
  act: () => void | Promise<void>;
  heal: () => void | Promise<void>;
}): Promise<FaultRow> {
  const { server, simple } = options;
  const base = server.url.replace(/\/graphql$/, "");
  const leaks = (text: string) =>
    text.includes("127.0.0.1") || text.includes(`:${options.databasePort}`) || /ECONN|PROTOCOL_|mysql/i.test(text);
  let leaked = 0;
  let stopping = false;
  let faultStart = Infinity;
  let faultEnd = Infinity;
  const during: Array<Promise<Answer & { startedAt: number }>> = [];
  let recoveredAt = Infinity;
  let i = 0;
  const reads = (async () => {
    while (!stopping) {
      const startedAt = performance.now();
      const answer = send(server.url, simple[i++ % simple.length], options.bystanderKey).then((a) => {
        if (leaks(a.text)) leaked++;
        if (a.status === 200 && a.code === null && startedAt >= faultEnd)
          recoveredAt = Math.min(recoveredAt, startedAt);
        return { ...a, startedAt };
      });
      if (startedAt >= faultStart && startedAt < faultEnd) during.push(answer);
      await sleep(500);
    }
  })();
  const health: Record<"live" | "ready", Array<{ status: number; ms: number }>> = { live: [], ready: [] };
  const probes = (async () => {
    while (!stopping) {
      const inFault = performance.now() >= faultStart && performance.now() < faultEnd;
      await Promise.all(
        (["live", "ready"] as const).map(async (which) => {
          const began = performance.now();
          const response = await fetch(`${base}/health/${which}`);
          const text = await response.text();
          if (leaks(text)) leaked++;
          if (inFault) health[which].push({ status: response.status, ms: performance.now() - began });
        }),
      );
      await sleep(500);
    }
  })();
  const pushed: string[] = [];
  const refusals: string[] = [];
  let sent = 0;
  const pusher = (async () => {
    while (!stopping) {
      const events = Array.from({ length: 100 }, () => buildEvent({ eventId: randomUUID() }));
      for (;;) {
        sent++;
        const response = await fetch(`${base}/ingest`, {
          method: "POST",
          headers: { authorization: `Bearer ${options.pusherKey}`, "content-type": "application/json" },
          body: JSON.stringify(events),
        });
        const text = await response.text();
        if (leaks(text)) leaked++;
        if (response.status === 200) break;
        refusals.push(String(response.status));
        const wait = Number(response.headers.get("retry-after") ?? "1");
        await sleep(Math.min(wait, 2) * 1000);
      }
      pushed.push(...events.map((event) => event.eventId));
    }
  })();

  await sleep(2000);
  faultStart = performance.now();
  await options.act();
  await sleep(options.seconds * 1000);
  await options.heal();
  faultEnd = performance.now();
  while (recoveredAt === Infinity && performance.now() - faultEnd < 120_000) await sleep(100);
  await sleep(3000);
  stopping = true;
  await Promise.all([reads, probes, pusher]);
  const answers = await Promise.all(during);
  const stored = await withConnection(options.databaseUrl, async (c) => {
    const [rows] = (await c.query("SELECT COUNT(*) AS n FROM events WHERE event_id IN (?)", [pushed])) as unknown as [
      Array<{ n: number }>,
    ];
    return Number(rows[0].n);
  });
  const statuses = (list: Array<{ status: number; ms: number }>) => ({
    statuses: tally(list.map((entry) => String(entry.status))),
    maxMs: Math.max(0, ...list.map((entry) => entry.ms)),
  });
  return {
    fault: options.name,
    seconds: options.seconds,
    requests: answers.length,
    answers: tally(answers.map((a) => `${a.status}${a.code ? ` ${a.code}` : ""}`)),
    slowestMs: Math.max(0, ...answers.map((a) => a.ms)),
    recoverySeconds: (recoveredAt - faultEnd) / 1000,
    live: statuses(health.live),
    ready: statuses(health.ready),
    pushes: { sent, refused: tally(refusals), events: pushed.length, stored },
    leaks: leaked,
  };
}

/** One request of a shape beside the bystander, the server's RSS sampled every 100 ms. */
async function unlimited(
  server: Server,
  shape: { name: string; body: string },
  key: string,
  bystanderKey: string,
  simple: readonly string[],
) {
  const rssBefore = rssMb(server.pid);
  let peak = rssBefore;
  const sampler = setInterval(() => (peak = Math.max(peak, rssMb(server.pid))), 100);
  const beside = bystander(server.url, bystanderKey, simple);
  const answer = await send(server.url, shape.body, key).finally(() => clearInterval(sampler));
  const latencies = await beside.stop();
  return {
    shape: shape.name,
    status: answer.status,
    code: answer.code,
    ms: answer.ms,
    answerBytes: Buffer.byteLength(answer.text),
    rssBeforeMb: rssBefore,
    rssPeakMb: peak,
    rssAfterMb: rssMb(server.pid),
    bystander: latencies,
  };
}

const fixed = (value: number, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : "-");

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      ...DATASET_OPTIONS,
      repeat: { type: "string", default: "50" },
      "pause-seconds": { type: "string", default: "20" },
      "mixed-seconds": { type: "string", default: "60" },
      connections: { type: "string", default: "16" },
      keep: { type: "boolean", default: false },
    },
  });
  const generate = datasetToGenerate(values);
  const repeat = positive("--repeat", values.repeat);
  const pauseSeconds = positive("--pause-seconds", values["pause-seconds"]);
  const mixedSeconds = positive("--mixed-seconds", values["mixed-seconds"]);
  const connections = positive("--connections", values.connections);
  const keep = values.keep;

  const privateTmp = mkdtempSync(join(os.tmpdir(), "trailgraph-bench-"));
  process.env.TMPDIR = privateTmp;
  if (!keep) process.on("exit", () => rmSync(privateTmp, { recursive: true, force: true }));
  const work = join(privateTmp, "abuse");
  mkdirSync(work, { recursive: true });
  const runId = `${Date.now().toString(36)}${randomBytes(2).toString("hex")}`;

  const servers: Server[] = [];
  let mysql: ThrowawayMysql | null = null;
  try {
    log("starting a throwaway MariaDB/MySQL server (test/support/mysql-server.ts)");
    mysql = await startThrowawayMysql({ bufferPoolMb: BENCH_BUFFER_POOL_MB });
    const dataset = await buildDataset(mysql.url, `${runId}_abuse`, generate, work, keep, log);
    const databaseUrl = dataset.url;

    // The three clients' keys, made as an operator makes them.
    const apiKeysFile = join(work, "api-keys.json");
    process.env.TRAILGRAPH_API_KEYS_FILE = apiKeysFile;
    const keyFor = async (name: string, write = false) => {
      const created = await runCli(
        ["apikey", "create", "--name", name, "--all-accounts", ...(write ? ["--write"] : [])],
        databaseUrl,
      );
      const key = /tgk_[0-9a-f]{12}_\S+/.exec(created.stdout)?.[0];
      if (!key) throw new Error(`trailgraph apikey create printed '${created.stdout}'`);
      return key;
    };
    const abuser = await keyFor("abuser");
    const bystanderKey = await keyFor("bystander");
    const loadKey = await keyFor("mixed load");
    const pusherKey = await keyFor("pusher", true);

    const facts = await readFacts(databaseUrl, generate.seed);
    const bodies = new Map<OpKey, string[]>();
    for (const key of ["a", "b", "c", "d"] as const)
      bodies.set(key, requestBodies(key, variableSets(key, facts, 200, generate.seed)));
    const simple = bodies.get("b")!;

    // The production server: default limits and budget, API keys.
    const server = await startTrailGraph(databaseUrl, {
      env: { TRAILGRAPH_API_KEYS_FILE: apiKeysFile, TRAILGRAPH_COST_PER_SECOND: undefined },
    });
    servers.push(server);
    log(`trailgraph serve at ${server.url} (pid ${server.pid})`);
    for (const body of simple.slice(0, 20)) await send(server.url, body, bystanderKey);

    const alone = bystander(server.url, bystanderKey, simple);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const baseline = await alone.stop();
    log(`the bystander alone: p50 ${fixed(baseline.p50, 2)} ms, max ${fixed(baseline.max, 2)} ms`);

    // 1. The shapes, each `repeat` times beside the bystander.
    const shapes: Array<{ name: string; body: string }> = [
      ...ABUSIVE.map((shape) => ({ name: shape.name, body: JSON.stringify({ query: shape.query }) })),
      { name: "a body that is not JSON", body: '{"query": "{ events { totalCount } }"' },
      {
        name: "two operations, no operationName",
        body: JSON.stringify({
          query: "query A { events(first: 1) { totalCount } } query B { accounts { totalCount } }",
        }),
      },
      {
        name: "a forged cursor",
        body: JSON.stringify({
          query: `{ events(first: 5, after: "${Buffer.from('["evD",1e16,5]').toString("base64url")}") { nodes { eventId } } }`,
        }),
      },
      { name: "a 2 MB body", body: JSON.stringify({ query: `{ events(first: 1) { totalCount } }${" ".repeat(2e6)}` }) },
    ];
    const shapeRows: ShapeRow[] = [];
    for (const shape of shapes) {
      const rssBefore = rssMb(server.pid);
      const beside = bystander(server.url, bystanderKey, simple);
      const answers = await flood(repeat, 8, () => send(server.url, shape.body, abuser));
      const latencies = await beside.stop();
      const row: ShapeRow = {
        shape: shape.name,
        bytes: Buffer.byteLength(shape.body),
        sent: answers.length,
        status: answers[0].status,
        code: answers[0].code,
        msMedian: middle(answers.map((a) => a.ms)),
        msMax: Math.max(...answers.map((a) => a.ms)),
        rssBeforeMb: rssBefore,
        rssAfterMb: rssMb(server.pid),
        bystander: latencies,
      };
      if (answers.some((a) => a.status !== row.status || a.code !== row.code))
        throw new Error(`${shape.name}: the copies were not all answered alike`);
      shapeRows.push(row);
      log(`${shape.name}: ${row.status} ${row.code}, ${fixed(row.msMedian, 2)} ms`);
    }

    // 2. The budget: the abuser repeats operation c (cost 822) until refused, then goes on for 3 s.
    const budget = await (async () => {
      const beside = bystander(server.url, bystanderKey, simple);
      const began = performance.now();
      let accepted = 0;
      let refusal: Answer | null = null;
      const cBodies = bodies.get("c")!;
      let i = 0;
      while (!refusal && performance.now() - began < 60_000) {
        const answers = await flood(4, 4, () => send(server.url, cBodies[i++ % cBodies.length], abuser));
        accepted += answers.filter((a) => a.status === 200).length;
        refusal = answers.find((a) => a.status === 429) ?? null;
      }
      const secondsToRefusal = (performance.now() - began) / 1000;
      const floodBegan = performance.now();
      const after: Answer[] = [];
      while (performance.now() - floodBegan < 3000)
        after.push(...(await flood(4, 4, () => send(server.url, cBodies[i++ % cBodies.length], abuser))));
      return {
        acceptedBeforeRefusal: accepted,
        secondsToRefusal,
        refusal: refusal && { status: refusal.status, code: refusal.code, retryAfter: refusal.retryAfter },
        afterwards: { sent: after.length, refused: after.filter((a) => a.status === 429).length },
        refusalMsMedian: middle(after.filter((a) => a.status === 429).map((a) => a.ms)),
        bystander: await beside.stop(),
      };
    })();
    log(`budget: ${budget.acceptedBeforeRefusal} accepted, then ${budget.refusal?.status} ${budget.refusal?.code}`);

    // 3. Every query limit off: what the deadline, row and answer limits do on their own.
    const unlimitedServer = await startTrailGraph(databaseUrl, {
      env: Object.fromEntries([
        ["TRAILGRAPH_API_KEYS_FILE", apiKeysFile],
        ...["COST", "DEPTH", "ALIASES", "DIRECTIVES", "REPEATS", "TOKENS"].map((what) => [
          `TRAILGRAPH_MAX_${what}`,
          "off",
        ]),
      ]),
    });
    servers.push(unlimitedServer);
    const realEvent = (JSON.parse(simple[0]) as { variables: { id: string } }).variables.id;
    const unlimitedRows = [];
    for (const shape of ABUSIVE) {
      const body = JSON.stringify({ query: shape.query.replace(/eventId: "[^"]+"/, `eventId: "${realEvent}"`) });
      const row = await unlimited(unlimitedServer, { name: shape.name, body }, abuser, bystanderKey, simple);
      unlimitedRows.push(row);
      log(`limits off, ${shape.name}: ${row.status} ${row.code}, ${fixed(row.ms, 0)} ms`);
    }
    await unlimitedServer.stop();

    // 4. Database faults under load, on the production server.
    const faultOptions = {
      server,
      databaseUrl,
      databasePort: mysql.port,
      bystanderKey,
      pusherKey,
      simple,
    };
    const db = mysql;
    const faults: FaultRow[] = [];
    faults.push(
      await underFault({
        ...faultOptions,
        name: `paused (SIGSTOP) for ${pauseSeconds} s`,
        seconds: pauseSeconds,
        act: () => db.pause(),
        heal: () => db.resume(),
      }),
    );
    log(`paused: ${JSON.stringify(faults[0].answers)}`);
    faults.push(
      await underFault({
        ...faultOptions,
        name: `restarted, down for ${pauseSeconds} s`,
        seconds: 0,
        act: () => db.restart({ downMs: pauseSeconds * 1000 }),
        heal: () => undefined,
      }),
    );
    log(`restarted: ${JSON.stringify(faults[1].answers)}`);

    // 5. The mixed load: the four operations in turn, at `connections`, on a server without the budget.
    const mixedServer = await startTrailGraph(databaseUrl, { env: { TRAILGRAPH_API_KEYS_FILE: apiKeysFile } });
    servers.push(mixedServer);
    const mixedBodies: string[] = [];
    for (let i = 0; i < 200; i++)
      for (const key of ["a", "b", "c", "d"] as const) mixedBodies.push(bodies.get(key)![i]);
    const rssStart = rssMb(mixedServer.pid);
    const samples: number[] = [];
    const sampler = setInterval(() => samples.push(rssMb(mixedServer.pid)), 5000);
    const mixed = await runLoad(
      mixedServer.url,
      mixedBodies,
      connections,
      mixedSeconds,
      { server: mixedServer.pid },
      {
        authorization: `Bearer ${loadKey}`,
      },
    ).finally(() => clearInterval(sampler));
    const rssEnd = rssMb(mixedServer.pid);
    log(
      `mixed load: ${fixed(mixed.requestsPerSecond, 0)} req/s, ${mixed.errors + mixed.non2xx + mixed.graphqlErrors} errors`,
    );

    const report = {
      startedAt: new Date().toISOString(),
      machine: { cpus: os.cpus().length, memoryGb: Math.round(os.totalmem() / 2 ** 30), node: process.version },
      dataset: dataset.figures,
      repeat,
      pauseSeconds,
      baseline,
      shapes: shapeRows,
      budget,
      unlimited: unlimitedRows,
      faults,
      mixed: { ...mixed, rssStartMb: rssStart, rssEndMb: rssEnd, rssSamplesMb: samples },
    };
    mkdirSync(join(ROOT, ".bench"), { recursive: true });
    writeFileSync(join(ROOT, ".bench", "abuse-last-run.json"), `${JSON.stringify(report, null, 2)}\n`);
    console.log(render(report));
  } finally {
    for (const server of servers) await server.stop();
    if (mysql && !keep) await mysql.stop();
  }
}

function render(report: {
  baseline: Latencies;
  unlimited: Array<Awaited<ReturnType<typeof unlimited>>>;
  faults: FaultRow[];
  shapes: ShapeRow[];
  budget: {
    acceptedBeforeRefusal: number;
    secondsToRefusal: number;
    refusal: { status: number; code: string | null; retryAfter: string | null } | null;
    afterwards: { sent: number; refused: number };
    refusalMsMedian: number;
    bystander: Latencies;
  };
  mixed: {
    seconds: number;
    connections: number;
    requests: number;
    requestsPerSecond: number;
    p50: number;
    p99: number;
    errors: number;
    timeouts: number;
    non2xx: number;
    graphqlErrors: number;
    rssStartMb: number;
    rssEndMb: number;
    rssSamplesMb: number[];
  };
  repeat: number;
}): string {
  const lines: string[] = [];
  const b = report.baseline;
  lines.push(
    `The bystander's query alone: p50 ${fixed(b.p50, 2)} ms, p99 ${fixed(b.p99, 2)} ms, max ${fixed(b.max, 2)} ms.`,
    "",
    `Each shape ${report.repeat} times, 8 at a time; ms to the answer; server RSS MB; the bystander's latency meanwhile (ms).`,
    "",
    "| shape | bytes | status | code | median ms | max ms | RSS before | RSS after | bystander p50 | p99 | max | bystander failed |",
    "|---|--:|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|",
  );
  for (const row of report.shapes) {
    lines.push(
      `| ${row.shape} | ${row.bytes.toLocaleString("en-US")} | ${row.status} | ${row.code ?? ""} | ${fixed(row.msMedian, 2)} | ${fixed(row.msMax, 1)} | ${fixed(row.rssBeforeMb, 0)} | ${fixed(row.rssAfterMb, 0)} | ${fixed(row.bystander.p50, 2)} | ${fixed(row.bystander.p99, 2)} | ${fixed(row.bystander.max, 1)} | ${row.bystander.failed} |`,
    );
  }
  const g = report.budget;
  lines.push(
    "",
    `Budget: the abuser sent operation c (cost 822) 4 at a time; ${g.acceptedBeforeRefusal} answered in ` +
      `${fixed(g.secondsToRefusal, 2)} s, then ${g.refusal?.status ?? "no refusal"} ${g.refusal?.code ?? ""} ` +
      `(Retry-After ${g.refusal?.retryAfter ?? "-"}); in the next 3 s ${g.afterwards.refused} of ${g.afterwards.sent} ` +
      `refused (median ${fixed(g.refusalMsMedian, 2)} ms); the bystander meanwhile: p50 ${fixed(g.bystander.p50, 2)} ms, ` +
      `max ${fixed(g.bystander.max, 1)} ms, ${g.bystander.failed} failed.`,
  );
  lines.push(
    "",
    "Every query limit off (TRAILGRAPH_MAX_COST, _DEPTH, _ALIASES, _DIRECTIVES, _REPEATS, _TOKENS), each shape once: what the deadline, row and answer limits do alone.",
    "",
    "| shape | status | code | ms | answer bytes | RSS before | peak | after | bystander p50 | max |",
    "|---|--:|---|--:|--:|--:|--:|--:|--:|--:|",
  );
  for (const row of report.unlimited) {
    lines.push(
      `| ${row.shape} | ${row.status} | ${row.code ?? ""} | ${fixed(row.ms, 0)} | ${row.answerBytes.toLocaleString("en-US")} | ${fixed(row.rssBeforeMb, 0)} | ${fixed(row.rssPeakMb, 0)} | ${fixed(row.rssAfterMb, 0)} | ${fixed(row.bystander.p50, 2)} | ${fixed(row.bystander.max, 0)} |`,
    );
  }
  const counts = (record: Record<string, number>) =>
    Object.entries(record)
      .map(([key, n]) => `${n}× ${key}`)
      .join(", ") || "-";
  lines.push(
    "",
    "Database faults under load (the production server): the bystander starts a request every 500 ms, /health/live and /health/ready are asked every 500 ms, a pusher POSTs batches of 100 events to /ingest and pushes a refused batch again.",
    "",
    "| fault | requests started meanwhile | their answers | slowest ms | recovered after s | /health/live | /health/ready | ready max ms | pushes refused | events pushed / stored | answers naming the database |",
    "|---|--:|---|--:|--:|---|---|--:|---|--:|--:|",
  );
  for (const row of report.faults) {
    lines.push(
      `| ${row.fault} | ${row.requests} | ${counts(row.answers)} | ${fixed(row.slowestMs, 0)} | ${fixed(row.recoverySeconds, 2)} | ${counts(row.live.statuses)} (max ${fixed(row.live.maxMs, 0)} ms) | ${counts(row.ready.statuses)} | ${fixed(row.ready.maxMs, 0)} | ${counts(row.pushes.refused)} | ${row.pushes.events} / ${row.pushes.stored} | ${row.leaks} |`,
    );
  }
  const m = report.mixed;
  lines.push(
    "",
    `Mixed load (operations a-d in turn), ${m.connections} connections, ${fixed(m.seconds, 0)} s: ` +
      `${m.requests.toLocaleString("en-US")} answers, ${fixed(m.requestsPerSecond, 0)} req/s, p50 ${fixed(m.p50, 1)} ms, ` +
      `p99 ${fixed(m.p99, 1)} ms; errors ${m.errors}, timeouts ${m.timeouts}, non-2xx ${m.non2xx}, GraphQL errors ` +
      `${m.graphqlErrors}; server RSS ${fixed(m.rssStartMb, 0)} MB at the start, ` +
      `${m.rssSamplesMb.map((v) => fixed(v, 0)).join(", ")} every 5 s, ${fixed(m.rssEndMb, 0)} MB at the end.`,
  );
  return lines.join("\n");
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
