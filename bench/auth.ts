/**
 * `npm run bench:auth [-- flags]`: what authentication costs on the four canonical operations
 * (issue 15). One dataset, generated and ingested as `npm run bench` does (bench/harness.ts), on
 * MySQL; one `trailgraph serve` process per variant:
 *
 *   open          no authentication (the default on loopback)
 *   hs256         JWT HS256 (TRAILGRAPH_JWT_SECRET), one token for every account ("accounts": "*")
 *   hs256-scoped  the same server settings, each request's token granting only the account its
 *                 variables name (operation b: the account that owns the event)
 *   es256         JWT ES256 with the key from TRAILGRAPH_JWKS_FILE, every account
 *   rs256         JWT RS256 (2048-bit key) from the same JWKS file, every account
 *   apikey        an API key (TRAILGRAPH_API_KEYS_FILE, made with `trailgraph apikey create`),
 *                 every account
 *   nolimits      open, and every query limit off (TRAILGRAPH_MAX_COST, _DEPTH, _ALIASES,
 *                 _DIRECTIVES, _REPEATS, _TOKENS: off): against `open`, what the cost analysis
 *                 costs (issue 16); the per-client budget is off on every server, as in
 *                 `npm run bench` (the load generator is one client)
 *
 * The JWT servers check issuer and audience, as production should. The request log is off on
 * every server (TRAILGRAPH_LOG_REQUESTS=off, as in `npm run bench`): with it on, each request
 * writes one JSON line (subject, via, operation, status, ms) whatever the variant.
 *
 * Before any load, every authenticated server answers a request without a credential, and one
 * with a malformed one, with 401; the open server answers without one; and the first variable
 * sets of each operation get, from every variant, 200 without GraphQL errors and the open
 * server's JSON (the scoped tokens: counted, as an account's scope may hide another account's
 * events). Then, per operation, load at --connections in turns of --slice-seconds: each turn
 * every variant once, the order rotated by one each turn. A non-2xx answer, a GraphQL error, a
 * connection error or a timeout is an error; any error makes the run exit 1. Figures: req/s,
 * p50/p99, ratio to open, and the server process's CPU per request (all its threads: WebCrypto
 * verifies on libuv's pool). Then authenticate() itself, in-process (dist/), per variant, and
 * jose's verification with the key as the server holds it and as an already-imported CryptoKey.
 *
 *   --events 100000          dataset size; --accounts 200 --seed 4 --days 30 (the generator's)
 *   --database URL           reuse a database that `trailgraph ingest` filled (e.g. kept with
 *                            --keep): no generate, no ingest
 *   --variants open,hs256,hs256-scoped,es256,rs256,apikey,nolimits   (open always runs, first)
 *   --operations a,b,c,d
 *   --connections 16
 *   --slices 6  --slice-seconds 2   turns, and seconds each variant gets per turn
 *   --warmup 3               seconds per operation and variant before the turns (discarded)
 *   --variable-sets 1000     variable sets per operation (requests rotate through them)
 *   --check 20               variable sets per operation compared with the open server's answers
 *   --micro 5000             calls per round of each in-process measurement (0: none)
 *   --keep                   keep the database and the generated files
 *
 * MYSQL_URL=mysql://user:pass@host:port/ uses that server; otherwise a throwaway MariaDB/MySQL
 * (test/support/mysql-server.ts) is started and removed at the end. Prints a markdown table and
 * writes every figure to .bench/auth-last-run.json. Needs `npm run build` (the script runs it).
 */
import {
  createHmac,
  createPublicKey,
  randomBytes,
  timingSafeEqual,
  verify as cryptoVerify,
  type JsonWebKeyInput,
} from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import * as os from "node:os";
import { join } from "node:path";
import { isDeepStrictEqual, parseArgs } from "node:util";
import autocannon from "autocannon";
import {
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  jwtVerify,
  SignJWT,
  type CryptoKey as JoseCryptoKey,
  type JWK,
  type JWTPayload,
} from "jose";
import { startThrowawayMysql, type ThrowawayMysql } from "../test/support/mysql-server";
import { runCli, startTrailGraph, type Server } from "./children";
import {
  buildDataset,
  DATASET_OPTIONS,
  datasetToGenerate,
  listOf,
  positive,
  wholeOrZero,
  withConnection,
} from "./dataset";
import { BENCH_BUFFER_POOL_MB, readFacts } from "./harness";
import { cpuSeconds, quantile } from "./load";
import { OPERATIONS, requestBodies, variableSets, type OpKey, type Variables } from "./operations";
import { packageVersion, ROOT } from "./trailgraph";

/**
 * What the in-process measurement uses of dist/src/auth (typed here: the sources' types pull in
 * the server's, which bench/tsconfig.json does not build).
 */
interface AuthModules {
  Authenticator: new (settings: unknown) => {
    authenticate(request: { headers: Record<string, string> }): Promise<unknown>;
  };
  authSettings(env: NodeJS.ProcessEnv): unknown;
}

const OUT = join(ROOT, ".bench", "auth-last-run.json");
const ISSUER = "https://login.bench.invalid/";
const AUDIENCE = "trailgraph";
/** Every query limit off: the `nolimits` variant. */
const NO_LIMITS = {
  TRAILGRAPH_MAX_COST: "off",
  TRAILGRAPH_MAX_DEPTH: "off",
  TRAILGRAPH_MAX_ALIASES: "off",
  TRAILGRAPH_MAX_DIRECTIVES: "off",
  TRAILGRAPH_MAX_REPEATS: "off",
  TRAILGRAPH_MAX_TOKENS: "off",
};

/** Every environment variable of access control and of the query limits: each server gets only its variant's. */
const AUTH_VARIABLES = [
  "TRAILGRAPH_JWT_SECRET",
  "TRAILGRAPH_JWKS_URL",
  "TRAILGRAPH_JWKS_FILE",
  "TRAILGRAPH_JWT_ISSUER",
  "TRAILGRAPH_JWT_AUDIENCE",
  "TRAILGRAPH_JWT_ACCOUNTS_CLAIM",
  "TRAILGRAPH_JWT_WRITE_CLAIM",
  "TRAILGRAPH_JWT_CLOCK_TOLERANCE",
  "TRAILGRAPH_API_KEYS_FILE",
  "TRAILGRAPH_OPEN",
  ...Object.keys(NO_LIMITS),
];

const VARIANT_KEYS = ["open", "hs256", "hs256-scoped", "es256", "rs256", "apikey", "nolimits"] as const;
type VariantKey = (typeof VARIANT_KEYS)[number];

const LABELS: Record<VariantKey, string> = {
  open: "open (no authentication)",
  hs256: "JWT HS256, every account",
  "hs256-scoped": "JWT HS256, the request's account",
  es256: "JWT ES256 (JWKS file), every account",
  rs256: "JWT RS256 (JWKS file), every account",
  apikey: "API key, every account",
  nolimits: "open, query limits off",
};

/** What a variant's server is started with and what its requests carry. */
interface Variant {
  key: VariantKey;
  label: string;
  env: Record<string, string | undefined>;
  /** The Authorization header of each variable set of an operation (null: none). */
  authorization(key: OpKey, index: number): string | null;
}

interface Tally {
  seconds: number;
  latencies: number[];
  errors: number;
  timeouts: number;
  non2xx: number;
  graphqlErrors: number;
  firstError: string | null;
  /** CPU seconds of the server process during the turns; null once unreadable. */
  cpu: number | null;
  next: number;
}

interface Row {
  operation: OpKey;
  title: string;
  variant: VariantKey;
  label: string;
  connections: number;
  seconds: number;
  requests: number;
  requestsPerSecond: number;
  p50: number;
  p99: number;
  mean: number;
  /** req/s ÷ the open server's in the same turns. */
  ratio: number;
  /** Server CPU (user + system, every thread) per good response, µs; null off Linux. */
  serverCpuUs: number | null;
  /** serverCpuUs minus the open server's. */
  cpuOverOpenUs: number | null;
  errors: number;
  timeouts: number;
  non2xx: number;
  graphqlErrors: number;
  firstError: string | null;
}

interface MicroRow {
  what: string;
  /** Calls per round; the least of `rounds` rounds. */
  calls: number;
  rounds: number;
  /** CPU time of the process (every thread) per call, µs. */
  cpuMicroseconds: number;
  /** Wall time per call, one call at a time, µs. */
  microseconds: number;
}

interface CheckReport {
  variant: VariantKey;
  /** Status of a request without Authorization, and with a malformed credential. */
  withoutCredential: number;
  malformedCredential: number | null;
  /** Variable sets compared per operation, and how many answered exactly as the open server. */
  compared: Record<string, { sets: number; identical: number }>;
}

const GRAPHQL_ERRORS = /"errors":\s*\[/;

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      ...DATASET_OPTIONS,
      database: { type: "string" },
      variants: { type: "string", default: VARIANT_KEYS.join(",") },
      operations: { type: "string", default: "a,b,c,d" },
      connections: { type: "string", default: "16" },
      slices: { type: "string", default: "6" },
      "slice-seconds": { type: "string", default: "2" },
      warmup: { type: "string", default: "3" },
      "variable-sets": { type: "string", default: "1000" },
      check: { type: "string", default: "20" },
      micro: { type: "string", default: "5000" },
      keep: { type: "boolean", default: false },
    },
  });
  const generate = datasetToGenerate(values);
  const events = generate.events;
  const variantKeys = listOf("--variants", values.variants, VARIANT_KEYS);
  if (!variantKeys.includes("open")) variantKeys.unshift("open");
  variantKeys.sort((a, b) => (a === "open" ? -1 : b === "open" ? 1 : 0));
  const opKeys = listOf(
    "--operations",
    values.operations,
    OPERATIONS.map((op) => op.key),
  );
  const connections = positive("--connections", values.connections);
  const slices = positive("--slices", values.slices);
  const sliceSeconds = positive("--slice-seconds", values["slice-seconds"]);
  const warmup = wholeOrZero("--warmup", values.warmup);
  const setCount = positive("--variable-sets", values["variable-sets"]);
  const checkCount = wholeOrZero("--check", values.check);
  const microCalls = wholeOrZero("--micro", values.micro);
  const keep = values.keep;
  const log = (line: string) => process.stderr.write(`[auth ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

  // A private temporary folder, the throwaway server's included (see bench/run.ts).
  const privateTmp = mkdtempSync(join(os.tmpdir(), "trailgraph-bench-"));
  process.env.TMPDIR = privateTmp;
  if (!keep) process.on("exit", () => rmSync(privateTmp, { recursive: true, force: true }));
  const work = join(privateTmp, "auth");
  mkdirSync(work, { recursive: true });
  const runId = `${Date.now().toString(36)}${randomBytes(2).toString("hex")}`;
  const startedAt = new Date();
  const load: Array<{ when: string; average: number }> = [{ when: "start", average: os.loadavg()[0] }];

  let throwaway: ThrowawayMysql | null = null;
  const cleanups: Array<() => Promise<void>> = [];
  try {
    let databaseUrl = values.database?.trim() ?? "";
    let dataset: Record<string, unknown>;
    if (databaseUrl === "") {
      let serverUrl = process.env.MYSQL_URL?.trim() ?? "";
      if (serverUrl === "") {
        log("starting a throwaway MariaDB/MySQL server (test/support/mysql-server.ts)");
        throwaway = await startThrowawayMysql({ bufferPoolMb: BENCH_BUFFER_POOL_MB });
        serverUrl = throwaway.url;
      }
      const built = await buildDataset(serverUrl, `${runId}_auth`, generate, work, keep, log);
      if (!keep) cleanups.push(built.drop);
      databaseUrl = built.url;
      dataset = built.figures;
    } else {
      dataset = { reused: true };
    }
    const database = await withConnection(databaseUrl, async (c) => {
      const [[row]] = (await c.query(
        "SELECT VERSION() AS v, @@innodb_buffer_pool_size AS bp, (SELECT COUNT(*) FROM events) AS n",
      )) as unknown as [Array<{ v: string; bp: number; n: number }>];
      return { version: row.v, bufferPoolBytes: Number(row.bp), events: Number(row.n) };
    });
    log(`database: ${database.version}, ${database.events.toLocaleString("en-US")} events`);

    // The variables, as `npm run bench` draws them.
    const facts = await readFacts(databaseUrl, generate.seed);
    const sets = new Map<OpKey, Variables[]>();
    const bodies = new Map<OpKey, string[]>();
    for (const key of opKeys) {
      const drawn = variableSets(key, facts, setCount, generate.seed);
      sets.set(key, drawn);
      bodies.set(key, requestBodies(key, drawn));
    }
    const owners = await eventOwners(databaseUrl, sets.get("b") ?? []);

    // Credentials.
    const credentials = await makeCredentials(work, databaseUrl, variantKeys.includes("apikey"));
    const scopedTokens = new Map<string, string>();
    const scopedToken = async (account: string | null) => {
      const id = account ?? "";
      let token = scopedTokens.get(id);
      if (token === undefined) {
        token = await credentials.hs256({ accounts: account === null ? [] : [account] });
        scopedTokens.set(id, token);
      }
      return token;
    };
    // The request's account: its variables' `a`, or the owner of the event of `id`.
    const scopedHeaders = new Map<OpKey, string[]>();
    for (const [key, drawn] of sets) {
      const headers: string[] = [];
      for (const variables of drawn) {
        const account = variables.a ?? owners.get(variables.id) ?? null;
        headers.push(`Bearer ${await scopedToken(account)}`);
      }
      scopedHeaders.set(key, headers);
    }
    const jwtEnv = { TRAILGRAPH_JWT_ISSUER: ISSUER, TRAILGRAPH_JWT_AUDIENCE: AUDIENCE };
    const all = {
      hs256: `Bearer ${await credentials.hs256({ accounts: "*" })}`,
      es256: `Bearer ${await credentials.es256({ accounts: "*" })}`,
      rs256: `Bearer ${await credentials.rs256({ accounts: "*" })}`,
      apikey: credentials.apiKey ? `Bearer ${credentials.apiKey}` : null,
    };
    const definitions: Record<VariantKey, Omit<Variant, "key" | "label">> = {
      open: { env: {}, authorization: () => null },
      hs256: { env: { ...jwtEnv, TRAILGRAPH_JWT_SECRET: credentials.secret }, authorization: () => all.hs256 },
      "hs256-scoped": {
        env: { ...jwtEnv, TRAILGRAPH_JWT_SECRET: credentials.secret },
        authorization: (key, index) => scopedHeaders.get(key)![index],
      },
      es256: { env: { ...jwtEnv, TRAILGRAPH_JWKS_FILE: credentials.jwksFile }, authorization: () => all.es256 },
      rs256: { env: { ...jwtEnv, TRAILGRAPH_JWKS_FILE: credentials.jwksFile }, authorization: () => all.rs256 },
      apikey: { env: { TRAILGRAPH_API_KEYS_FILE: credentials.apiKeysFile }, authorization: () => all.apikey },
      nolimits: { env: NO_LIMITS, authorization: () => null },
    };
    const variants: Variant[] = variantKeys.map((key) => ({ key, label: LABELS[key], ...definitions[key] }));

    // One server per variant, started one after another: startTrailGraph hands the child our
    // environment, which holds only the variant's access control settings while it starts.
    const servers: Server[] = [];
    cleanups.push(async () => {
      for (const server of servers.splice(0)) await server.stop();
    });
    for (const variant of variants) {
      const server = await withEnv(variant.env, () => startTrailGraph(databaseUrl));
      servers.push(server);
      log(`${variant.key}: trailgraph serve pid ${server.pid} at ${server.url}`);
    }

    // The variants are what they claim to be.
    const checks: CheckReport[] = [];
    for (const [index, variant] of variants.entries()) {
      checks.push(await checkVariant(variant, servers[index].url, servers[0].url, bodies, checkCount));
    }
    for (const check of checks) {
      const compared = Object.entries(check.compared)
        .map(([key, c]) => `${key} ${c.identical}/${c.sets}`)
        .join(", ");
      log(
        `${check.variant}: without a credential ${check.withoutCredential}, malformed ${check.malformedCredential ?? "-"}; ` +
          `answers as open: ${compared}`,
      );
    }

    // The load.
    load.push({ when: "before the load", average: os.loadavg()[0] });
    const rows: Row[] = [];
    for (const key of opKeys) {
      const op = OPERATIONS.find((each) => each.key === key)!;
      const opBodies = bodies.get(key)!;
      log(`${key}: ${op.title}: warm-up ${warmup} s per variant, then ${slices} turns of ${sliceSeconds} s each`);
      if (warmup > 0) {
        for (const [index, variant] of variants.entries()) {
          await loadSlice(servers[index], variant, key, opBodies, connections, warmup, newTally());
        }
      }
      const tallies = variants.map(() => newTally());
      for (let turn = 0; turn < slices; turn++) {
        for (let position = 0; position < variants.length; position++) {
          const index = (position + turn) % variants.length;
          await loadSlice(servers[index], variants[index], key, opBodies, connections, sliceSeconds, tallies[index]);
        }
      }
      const results = tallies.map((tally) => summarize(tally));
      const open = results[0];
      for (const [index, variant] of variants.entries()) {
        const result = results[index];
        const row: Row = {
          operation: key,
          title: op.title,
          variant: variant.key,
          label: variant.label,
          connections,
          ...result,
          ratio: result.requestsPerSecond / open.requestsPerSecond,
          cpuOverOpenUs:
            result.serverCpuUs === null || open.serverCpuUs === null ? null : result.serverCpuUs - open.serverCpuUs,
        };
        rows.push(row);
        log(
          `${key} ${variant.key}: ${row.requestsPerSecond.toFixed(0)} req/s, p50 ${row.p50.toFixed(2)} p99 ` +
            `${row.p99.toFixed(2)} ms, ratio ${row.ratio.toFixed(3)}, CPU ${row.serverCpuUs?.toFixed(0) ?? "-"} µs/request, ` +
            `errors ${row.errors + row.timeouts + row.non2xx + row.graphqlErrors}`,
        );
      }
    }
    load.push({ when: "after the load", average: os.loadavg()[0] });
    for (const server of servers.splice(0)) await server.stop();

    // authenticate() and jose alone, in-process.
    const micro = microCalls > 0 ? await microBenchmarks(variants, opKeys[0], credentials, microCalls, log) : [];
    load.push({ when: "end", average: os.loadavg()[0] });

    const failures = rows.filter((row) => row.errors + row.timeouts + row.non2xx + row.graphqlErrors > 0);
    const command = `npm run bench:auth${args.length ? ` -- ${args.join(" ")}` : ""}`;
    const report = {
      command: process.env.MYSQL_URL ? `MYSQL_URL=<server> ${command}` : command,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      options: {
        events,
        generate,
        variants: variantKeys,
        operations: opKeys,
        connections,
        slices,
        sliceSeconds,
        warmup,
        variableSets: setCount,
        check: checkCount,
        micro: microCalls,
        server: values.database ? "--database" : throwaway ? "throwaway server" : "MYSQL_URL",
      },
      machine: {
        cpu: os.cpus()[0]?.model ?? "?",
        cores: os.cpus().length,
        memoryBytes: os.totalmem(),
        os: `${os.type()} ${os.release()} (${os.arch()})`,
        load,
      },
      versions: {
        node: process.versions.node,
        jose: packageVersion("jose"),
        fastify: packageVersion("fastify"),
        "@apollo/server": packageVersion("@apollo/server"),
        autocannon: packageVersion("autocannon"),
        database: database.version,
      },
      database,
      dataset,
      checks,
      rows,
      micro,
      failures: failures.map((row) => `${row.operation} ${row.variant}: ${row.firstError ?? "errors"}`),
    };
    mkdirSync(join(ROOT, ".bench"), { recursive: true });
    writeFileSync(OUT, `${JSON.stringify(report, null, 2)}\n`);
    process.stdout.write(
      `\n${renderMarkdown(report.command, rows, micro, report.machine, database)}\nwritten to ${OUT}\n`,
    );
    if (keep && !values.database) process.stdout.write(`database kept: --database ${databaseUrl}\n`);
    if (failures.length > 0) {
      process.stderr.write(`\nbench:auth: FAILED, steps with errors:\n${report.failures.join("\n")}\n`);
      process.exitCode = 1;
    }
  } finally {
    for (const cleanup of cleanups.reverse())
      await cleanup().catch((error: unknown) => log(`cleanup: ${String(error)}`));
    if (throwaway) await throwaway.stop();
  }
}

/** The account that owns each event of operation b's variables (null: none). */
async function eventOwners(url: string, sets: readonly Variables[]): Promise<Map<string, string | null>> {
  const ids = [...new Set(sets.map((variables) => variables.id))];
  if (ids.length === 0) return new Map();
  return withConnection(url, async (c) => {
    const [rows] = (await c.query("SELECT event_id, account_id FROM events WHERE event_id IN (?)", [
      ids,
    ])) as unknown as [Array<{ event_id: string; account_id: string | null }>];
    return new Map(rows.map((row) => [row.event_id, row.account_id]));
  });
}

interface Credentials {
  secret: string;
  jwksFile: string;
  apiKeysFile: string;
  apiKey: string | null;
  es: { publicKey: JoseCryptoKey; jwk: JWK };
  rs: { publicKey: JoseCryptoKey; jwk: JWK };
  hs256(claims: JWTPayload): Promise<string>;
  es256(claims: JWTPayload): Promise<string>;
  rs256(claims: JWTPayload): Promise<string>;
}

/** An HS256 secret, an ES256 and an RS256 key pair (public keys in a JWKS file), an API key. */
async function makeCredentials(work: string, databaseUrl: string, withApiKey: boolean): Promise<Credentials> {
  const secret = randomBytes(48).toString("base64url");
  const secretBytes = new TextEncoder().encode(secret);
  const es = await generateKeyPair("ES256");
  const rs = await generateKeyPair("RS256", { modulusLength: 2048 });
  const esJwk: JWK = { ...(await exportJWK(es.publicKey)), kid: "bench-es256", alg: "ES256", use: "sig" };
  const rsJwk: JWK = { ...(await exportJWK(rs.publicKey)), kid: "bench-rs256", alg: "RS256", use: "sig" };
  const jwksFile = join(work, "jwks.json");
  writeFileSync(jwksFile, `${JSON.stringify({ keys: [esJwk, rsJwk] })}\n`);
  // Valid for the whole run: issued now, expiring in three hours.
  const claims = (extra: JWTPayload) =>
    new SignJWT({ sub: "bench", ...extra })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime("3h");
  const apiKeysFile = join(work, "api-keys.json");
  let apiKey: string | null = null;
  if (withApiKey) {
    // As an operator makes one: `trailgraph apikey create` prints the key on stdout.
    const created = await withEnv({ TRAILGRAPH_API_KEYS_FILE: apiKeysFile }, () =>
      runCli(["apikey", "create", "--name", "bench", "--all-accounts"], databaseUrl),
    );
    apiKey = created.stdout.trim();
    if (!/^tgk_[0-9a-f]{12}_/.test(apiKey)) throw new Error(`trailgraph apikey create printed '${apiKey}'`);
  }
  return {
    secret,
    jwksFile,
    apiKeysFile,
    apiKey,
    es: { publicKey: es.publicKey, jwk: esJwk },
    rs: { publicKey: rs.publicKey, jwk: rsJwk },
    hs256: (extra) => claims(extra).setProtectedHeader({ alg: "HS256" }).sign(secretBytes),
    es256: (extra) => claims(extra).setProtectedHeader({ alg: "ES256", kid: "bench-es256" }).sign(es.privateKey),
    rs256: (extra) => claims(extra).setProtectedHeader({ alg: "RS256", kid: "bench-rs256" }).sign(rs.privateKey),
  };
}

/**
 * Runs `use` with the access control variables of the environment replaced by `env` (the
 * others removed), restored afterwards. Children spawned meanwhile inherit them.
 */
async function withEnv<T>(env: Record<string, string | undefined>, use: () => Promise<T>): Promise<T> {
  const saved = new Map(AUTH_VARIABLES.map((name) => [name, process.env[name]]));
  for (const name of AUTH_VARIABLES) delete process.env[name];
  for (const [name, value] of Object.entries(env)) if (value !== undefined) process.env[name] = value;
  try {
    return await use();
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

async function post(
  url: string,
  body: string,
  authorization: string | null,
): Promise<{ status: number; text: string; challenge: string | null }> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (authorization !== null) headers.authorization = authorization;
  const response = await fetch(url, { method: "POST", headers, body });
  return { status: response.status, text: await response.text(), challenge: response.headers.get("www-authenticate") };
}

/**
 * An authenticated server refuses a request without a credential and one with a malformed
 * credential (401 with `WWW-Authenticate: Bearer`); the open server answers it; and the first
 * variable sets of each operation get 200 without GraphQL errors, the same JSON as from the open
 * server (every-account credentials must; the scoped tokens are counted).
 */
async function checkVariant(
  variant: Variant,
  url: string,
  openUrl: string,
  bodies: Map<OpKey, string[]>,
  count: number,
): Promise<CheckReport> {
  const [firstKey, firstBodies] = [...bodies.entries()][0];
  const bare = await post(url, firstBodies[0], null);
  let malformed: number | null = null;
  if (variant.key === "open" || variant.key === "nolimits") {
    if (bare.status !== 200 || GRAPHQL_ERRORS.test(bare.text))
      throw new Error(`the open server refused a request without a credential: ${bare.status} ${bare.text}`);
  } else {
    if (bare.status !== 401 || !/^Bearer/.test(bare.challenge ?? ""))
      throw new Error(`${variant.key}: a request without a credential got ${bare.status}, not 401: ${bare.text}`);
    const wrong = variant.authorization(firstKey, 0)!.slice(0, -4) + "AAAA";
    const refused = await post(url, firstBodies[0], wrong);
    if (refused.status !== 401)
      throw new Error(`${variant.key}: a request with a forged credential got ${refused.status}, not 401`);
    malformed = refused.status;
  }
  const compared: CheckReport["compared"] = {};
  for (const [key, list] of bodies) {
    let identical = 0;
    const sample = list.slice(0, count);
    for (const [index, body] of sample.entries()) {
      const [mine, open] = await Promise.all([
        post(url, body, variant.authorization(key, index)),
        post(openUrl, body, null),
      ]);
      if (mine.status !== 200 || GRAPHQL_ERRORS.test(mine.text))
        throw new Error(`${variant.key}, operation ${key}: ${mine.status} ${mine.text.slice(0, 500)}`);
      // Without limits, extensions.cost has no limit: the data must be the same.
      const answer = (text: string) => (variant.key === "nolimits" ? JSON.parse(text).data : JSON.parse(text));
      const same = isDeepStrictEqual(answer(mine.text), answer(open.text));
      if (!same && variant.key !== "hs256-scoped")
        throw new Error(`${variant.key}, operation ${key}: an answer differs from the open server's`);
      if (same) identical++;
    }
    compared[key] = { sets: sample.length, identical };
  }
  return { variant: variant.key, withoutCredential: bare.status, malformedCredential: malformed, compared };
}

function newTally(): Tally {
  return {
    seconds: 0,
    latencies: [],
    errors: 0,
    timeouts: 0,
    non2xx: 0,
    graphqlErrors: 0,
    firstError: null,
    cpu: 0,
    next: 0,
  };
}

/**
 * One turn of load on one server, as bench/load.ts's slices, with each request's Authorization
 * header beside its body. Latencies of 2xx answers; every body is checked for GraphQL errors.
 */
async function loadSlice(
  server: Server,
  variant: Variant,
  key: OpKey,
  bodies: readonly string[],
  connections: number,
  seconds: number,
  tally: Tally,
): Promise<void> {
  const cpuBefore = cpuSeconds(server.pid);
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: server.url,
        connections,
        duration: seconds,
        timeout: 120,
        method: "POST",
        headers: { "content-type": "application/json" },
        requests: [
          {
            setupRequest: (request) => {
              const index = tally.next++ % bodies.length;
              const authorization = variant.authorization(key, index);
              return {
                ...request,
                body: bodies[index],
                headers: authorization === null ? request.headers : { ...request.headers, authorization },
              };
            },
            onResponse: (status, body) => {
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
  const cpuAfter = cpuSeconds(server.pid);
  tally.cpu = cpuBefore === null || cpuAfter === null || tally.cpu === null ? null : tally.cpu + cpuAfter - cpuBefore;
  tally.seconds += result.duration;
  tally.errors += result.errors;
  tally.timeouts += result.timeouts;
  tally.non2xx += result.non2xx;
}

function summarize(tally: Tally) {
  const sorted = Float64Array.from(tally.latencies).sort();
  const ok = Math.max(0, sorted.length - tally.graphqlErrors);
  return {
    seconds: tally.seconds,
    requests: ok,
    requestsPerSecond: ok / tally.seconds,
    p50: quantile(sorted, 0.5),
    p99: quantile(sorted, 0.99),
    mean: sorted.length ? sorted.reduce((sum, value) => sum + value, 0) / sorted.length : NaN,
    serverCpuUs: tally.cpu === null || ok === 0 ? null : (tally.cpu * 1e6) / ok,
    errors: tally.errors,
    timeouts: tally.timeouts,
    non2xx: tally.non2xx,
    graphqlErrors: tally.graphqlErrors,
    firstError: tally.firstError,
  };
}

/** Wall and CPU µs per call of `calls` sequential awaits of `call`. */
async function timeCalls(calls: number, call: () => Promise<unknown>): Promise<{ wall: number; cpu: number }> {
  const cpu = process.cpuUsage();
  const began = performance.now();
  for (let i = 0; i < calls; i++) await call();
  const wall = ((performance.now() - began) * 1000) / calls;
  const used = process.cpuUsage(cpu);
  return { wall, cpu: (used.user + used.system) / calls };
}

/** Rounds of the in-process measurements: each item's least figures count (the least disturbed). */
const MICRO_ROUNDS = 3;

/**
 * authenticate() of the built server (dist/) per variant, one call at a time; then jose's
 * jwtVerify with the key as the server passes it (the secret's bytes, the local JWKS) and with
 * an already-imported CryptoKey, the HMAC key import alone, and the signatures checked with
 * node:crypto synchronously (the floor, without WebCrypto's jobs): where the time goes. Every item
 * is warmed up, then measured in rounds that alternate over all items; the process's CPU time
 * (every thread: WebCrypto works on libuv's pool) is the cost, the wall time includes the hops.
 */
async function microBenchmarks(
  variants: readonly Variant[],
  opKey: OpKey,
  credentials: Credentials,
  calls: number,
  log: (line: string) => void,
): Promise<MicroRow[]> {
  const requireFromRoot = createRequire(join(ROOT, "package.json"));
  const { Authenticator } = requireFromRoot(join(ROOT, "dist", "src", "auth", "credentials.js")) as AuthModules;
  const { authSettings } = requireFromRoot(join(ROOT, "dist", "src", "auth", "settings.js")) as AuthModules;
  const items: Array<{ what: string; call: () => Promise<unknown> }> = [];
  for (const variant of variants) {
    const authenticator = await withEnv(variant.env, async () => new Authenticator(authSettings(process.env)));
    const authorization = variant.authorization(opKey, 0);
    const headers: Record<string, string> = authorization === null ? {} : { authorization };
    const request = { headers };
    items.push({ what: `authenticate(), ${variant.label}`, call: () => authenticator.authenticate(request) });
  }
  const options = { issuer: ISSUER, audience: AUDIENCE, requiredClaims: ["exp"] };
  const secretBytes = new TextEncoder().encode(credentials.secret);
  const hmac = { name: "HMAC", hash: "SHA-256" };
  const hmacKey = await crypto.subtle.importKey("raw", secretBytes, hmac, false, ["verify"]);
  const hs = await credentials.hs256({ accounts: "*" });
  const es = await credentials.es256({ accounts: "*" });
  const rs = await credentials.rs256({ accounts: "*" });
  const jwks = createLocalJWKSet({ keys: [credentials.es.jwk, credentials.rs.jwk] });
  const asymmetric = { ...options, algorithms: ["RS256", "ES256"] };
  items.push(
    {
      what: "jose jwtVerify HS256, the secret's bytes (imported again by every call)",
      call: () => jwtVerify(hs, secretBytes, { ...options, algorithms: ["HS256"] }),
    },
    {
      what: "jose jwtVerify HS256, a CryptoKey imported once",
      call: () => jwtVerify(hs, hmacKey, { ...options, algorithms: ["HS256"] }),
    },
    {
      what: "crypto.subtle.importKey of the HMAC secret alone",
      call: () => crypto.subtle.importKey("raw", secretBytes, hmac, false, ["verify"]),
    },
    { what: "jose jwtVerify ES256, the local JWKS (as the server)", call: () => jwtVerify(es, jwks, asymmetric) },
    {
      what: "jose jwtVerify ES256, the public CryptoKey",
      call: () => jwtVerify(es, credentials.es.publicKey, { ...options, algorithms: ["ES256"] }),
    },
    { what: "jose jwtVerify RS256, the local JWKS (as the server)", call: () => jwtVerify(rs, jwks, asymmetric) },
    {
      what: "jose jwtVerify RS256, the public CryptoKey",
      call: () => jwtVerify(rs, credentials.rs.publicKey, { ...options, algorithms: ["RS256"] }),
    },
  );
  // The floor: the same checks with node:crypto, synchronously (the signature only, no claims).
  const parts = (token: string) => {
    const [header, payload, signature] = token.split(".");
    return { input: Buffer.from(`${header}.${payload}`), signature: Buffer.from(signature, "base64url") };
  };
  const hsParts = parts(hs);
  const esParts = parts(es);
  const rsParts = parts(rs);
  const esKey = createPublicKey({ key: credentials.es.jwk as JsonWebKeyInput["key"], format: "jwk" });
  const rsKey = createPublicKey({ key: credentials.rs.jwk as JsonWebKeyInput["key"], format: "jwk" });
  items.push(
    {
      what: "node:crypto HMAC-SHA256 + timingSafeEqual, synchronous",
      call: async () =>
        timingSafeEqual(createHmac("sha256", secretBytes).update(hsParts.input).digest(), hsParts.signature),
    },
    {
      what: "node:crypto verify ES256, synchronous",
      call: async () =>
        cryptoVerify("sha256", esParts.input, { key: esKey, dsaEncoding: "ieee-p1363" }, esParts.signature),
    },
    {
      what: "node:crypto verify RS256, synchronous",
      call: async () => cryptoVerify("sha256", rsParts.input, rsKey, rsParts.signature),
    },
  );
  const best = items.map(() => ({ wall: Infinity, cpu: Infinity }));
  for (const item of items) await timeCalls(Math.ceil(calls / 5), item.call);
  for (let round = 0; round < MICRO_ROUNDS; round++) {
    for (const [index, item] of items.entries()) {
      const { wall, cpu } = await timeCalls(calls, item.call);
      best[index] = { wall: Math.min(best[index].wall, wall), cpu: Math.min(best[index].cpu, cpu) };
    }
  }
  return items.map((item, index) => {
    log(`[in-process] ${item.what}: ${best[index].cpu.toFixed(1)} µs CPU, ${best[index].wall.toFixed(1)} µs wall`);
    return {
      what: item.what,
      calls,
      rounds: MICRO_ROUNDS,
      cpuMicroseconds: best[index].cpu,
      microseconds: best[index].wall,
    };
  });
}

function renderMarkdown(
  command: string,
  rows: readonly Row[],
  micro: readonly MicroRow[],
  machine: { cpu: string; cores: number; load: Array<{ when: string; average: number }> },
  database: { version: string; events: number },
): string {
  const n = (value: number, digits = 0) =>
    Number.isFinite(value)
      ? value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits })
      : "-";
  const lines = [
    `\`${command}\`: ${database.events.toLocaleString("en-US")} events, MySQL ${database.version}, ` +
      `${machine.cpu} × ${machine.cores}, load average ${machine.load.map((l) => l.average.toFixed(1)).join(" → ")}`,
    "",
    "| operation | variant | req/s | p50 (ms) | p99 (ms) | ratio to open | server CPU (µs/request) | Δ CPU vs open (µs) | errors |",
    "| --- | --- | --: | --: | --: | --: | --: | --: | --: |",
  ];
  for (const row of rows) {
    lines.push(
      `| ${row.operation} | ${row.label} | ${n(row.requestsPerSecond)} | ${n(row.p50, 2)} | ${n(row.p99, 2)} | ` +
        `${row.ratio.toFixed(3)} | ${row.serverCpuUs === null ? "-" : n(row.serverCpuUs)} | ` +
        `${row.cpuOverOpenUs === null || row.variant === "open" ? "-" : `${row.cpuOverOpenUs >= 0 ? "+" : ""}${n(row.cpuOverOpenUs)}`} | ` +
        `${row.errors + row.timeouts + row.non2xx + row.graphqlErrors} |`,
    );
  }
  if (micro.length > 0) {
    lines.push("", "| in-process, one call at a time | CPU µs per call | wall µs per call |", "| --- | --: | --: |");
    for (const row of micro) lines.push(`| ${row.what} | ${n(row.cpuMicroseconds, 1)} | ${n(row.microseconds, 1)} |`);
  }
  return `${lines.join("\n")}\n`;
}

// Ctrl-C: exit, so that the 'exit' handlers kill the children and remove the files.
process.once("SIGINT", () => process.exit(130));
process.once("SIGTERM", () => process.exit(143));

main().then(
  () => process.exit(process.exitCode ?? 0),
  (error: unknown) => {
    process.stderr.write(`bench:auth: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
