/**
 * The ingest fuzz, long run (issue #14): a seeded corpus of mutated real events (see
 * test/support/fuzz.ts) ingested through the built CLI (and/or POST /ingest), then every record
 * accounted for through GraphQL: stored with every field as the oracle derives it from the
 * record's bytes, or rejected at its position. Prints a table per mutation class; exits 1 on
 * any mismatch or unaccounted record (or anything stored or rejected that belongs to no
 * record), 2 on a usage error.
 *
 *   npx tsx scripts/fuzz.ts [--seed 7] [--records 10000] [--store sqlite|mysql|both]
 *                           [--mysql-url mysql://root@127.0.0.1:3306/] [--path cli|http|both]
 *                           [--per-file 500] [--max-huge 1048576] [--no-oversized]
 *                           [--details 40] [--keep]
 *
 * --store mysql uses the server of --mysql-url (or MYSQL_URL), in a database of its own that
 * is dropped at the end; without either, a throwaway MariaDB/MySQL is started
 * (test/support/mysql-server.ts). The CLI is dist/src/cli.js: run `npm run build` first.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { FastifyInstance } from "fastify";
import { storeConfig } from "../src/db/datasource";
import { openStore } from "../src/db/open";
import { buildTrailGraphSchema } from "../src/schema/build";
import { createApp } from "../src/server/app";
import { requireBuiltCli, runCli } from "../test/support/cli";
import {
  accountFor,
  conflictingIds,
  expectedCounts,
  formatAccounting,
  fuzzCorpus,
  layoutFiles,
  type FuzzFile,
  type GraphQL,
  type Placement,
} from "../test/support/fuzz";
import { createTestDatabase, startThrowawayMysql, type ThrowawayMysql } from "../test/support/mysql-server";

const TOKEN = "fuzz-long-run";

interface Run {
  store: "sqlite" | "mysql";
  path: "cli" | "http";
}

function usage(message: string): never {
  process.stderr.write(
    `${message}\nusage: npx tsx scripts/fuzz.ts [--seed N] [--records N] [--store sqlite|mysql|both] [--mysql-url URL] [--path cli|http|both]\n`,
  );
  process.exit(2);
}

function positive(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0) usage(`${name} must be a whole number, got '${value}'`);
  return number;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      seed: { type: "string" },
      records: { type: "string" },
      store: { type: "string" },
      "mysql-url": { type: "string" },
      path: { type: "string" },
      "per-file": { type: "string" },
      "max-huge": { type: "string" },
      "no-oversized": { type: "boolean" },
      details: { type: "string" },
      keep: { type: "boolean" },
    },
  });
  const seed = positive(values.seed, "--seed", 7);
  const count = positive(values.records, "--records", 10_000);
  const stores = pick(values.store ?? "sqlite", ["sqlite", "mysql"] as const, "--store");
  const paths = pick(values.path ?? "cli", ["cli", "http"] as const, "--path");
  const perFile = positive(values["per-file"], "--per-file", 500);
  const details = positive(values.details, "--details", 40);
  if (paths.includes("cli")) requireBuiltCli();

  const started = Date.now();
  const records = fuzzCorpus({
    seed,
    count,
    oversized: !values["no-oversized"],
    maxHugeLength: positive(values["max-huge"], "--max-huge", 1024 * 1024),
  });
  const files = layoutFiles(records, { seed, perFile });
  const clashes = conflictingIds(files.flatMap((file) => file.entries.map((entry) => entry.record)));
  if (clashes.length > 0)
    throw new Error(`the corpus gives different events one eventId: ${clashes.slice(0, 5).join(", ")}`);
  const bytes = files.reduce((sum, file) => sum + file.bytes.length, 0);
  const entries = files.reduce((sum, file) => sum + file.entries.length, 0);
  console.log(
    `seed ${seed}: ${entries} records (${records.length} mutated, ${entries - records.length} anchors) in ` +
      `${files.length} files, ${(bytes / 1024 / 1024).toFixed(1)} MiB, made in ${Date.now() - started} ms`,
  );

  const dir = await mkdtemp(join(tmpdir(), "trailgraph-fuzz-run-"));
  let server: ThrowawayMysql | undefined;
  let failed = false;
  try {
    for (const store of stores) {
      for (const path of paths) {
        let serverUrl = values["mysql-url"] ?? process.env.MYSQL_URL;
        if (store === "mysql" && !serverUrl) {
          server ??= await startThrowawayMysql();
          serverUrl = server.url;
        }
        const ok = await runOne({ store, path }, files, dir, serverUrl, details, seed);
        failed ||= !ok;
      }
    }
  } finally {
    if (values.keep) console.log(`kept ${dir}`);
    else await rm(dir, { recursive: true, force: true });
    await server?.stop();
  }
  return failed ? 1 : 0;
}

function pick<T extends string>(value: string, choices: readonly T[], name: string): T[] {
  if (value === "both") return [...choices];
  if (!(choices as readonly string[]).includes(value)) usage(`${name} must be ${choices.join(", ")} or both`);
  return [value as T];
}

/** One store, one path: a fresh store, the ingest, the accounting. True when everything is accounted for. */
async function runOne(
  run: Run,
  files: FuzzFile[],
  dir: string,
  serverUrl: string | undefined,
  details: number,
  seed: number,
): Promise<boolean> {
  const label = `${run.store}, through ${run.path === "cli" ? "the CLI" : "POST /ingest"}`;
  const started = Date.now();
  const runDir = await mkdtemp(join(dir, `${run.store}-${run.path}-`));
  let url: string;
  let drop = async () => {};
  if (run.store === "mysql") {
    const database = await createTestDatabase(serverUrl!, `tg_fuzz_${seed}_${Date.now().toString(36)}`);
    url = database.url;
    drop = database.drop;
  } else {
    url = `sqlite:${join(runDir, "store.sqlite")}`;
  }
  const store = await openStore(storeConfig(url), { migrate: true });
  const schema = await buildTrailGraphSchema();
  let app: FastifyInstance | undefined;
  try {
    app = await createApp({
      dataSource: store.dataSource,
      schema,
      ingest: { token: TOKEN, maxBytes: 1024 * 1024 * 1024 },
    });
    const graphql: GraphQL = async (query, variables) => {
      const response = await app!.inject({
        method: "POST",
        url: "/graphql",
        headers: { "content-type": "application/json" },
        payload: JSON.stringify({ query, variables }),
      });
      return JSON.parse(response.body);
    };
    const placements: Placement[] = [];
    const notes: string[] = [];
    const expected = expectedCounts(files.flatMap((file) => file.entries));
    if (run.path === "cli") {
      const paths = files.map((file) => join(runDir, file.name));
      await Promise.all(files.map((file, i) => writeFile(paths[i], file.bytes)));
      const cli = await runCli(["ingest", "--json", "--rejects", join(runDir, "rejects.jsonl"), ...paths], {
        cwd: runDir,
        databaseUrl: url,
      });
      files.forEach((file, i) => {
        for (const entry of file.entries) placements.push({ ...entry, source: paths[i] });
      });
      const wanted = expected.rejected > 0 ? 1 : 0;
      if (cli.code !== wanted)
        notes.push(`the CLI exited ${cli.code} (expected ${wanted}): ${cli.stderr.trim().slice(-2000)}`);
      try {
        const summary = JSON.parse(cli.stdout);
        notes.push(countsNote("the CLI's summary", summary, expected));
      } catch {
        notes.push(
          `the CLI's --json output is not JSON (${cli.stdout.length} characters, ending ${JSON.stringify(cli.stdout.slice(-120))})`,
        );
      }
    } else {
      for (const file of files) {
        const response = await app.inject({
          method: "POST",
          url: "/ingest",
          headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/octet-stream" },
          payload: file.bytes,
        });
        let body: any = response.body;
        try {
          body = JSON.parse(response.body);
        } catch {
          // Kept as text for the note below.
        }
        if (response.statusCode >= 500)
          notes.push(`${file.name}: ${response.statusCode} ${JSON.stringify(body).slice(0, 500)}`);
        else notes.push(countsNote(`${file.name} (${response.statusCode})`, body, expectedCounts(file.entries)));
        const source = body?.rejects?.[0]?.source ?? `http (no reject listed for ${file.name})`;
        for (const entry of file.entries) placements.push({ ...entry, source });
      }
    }
    const ingested = Date.now();
    const accounting = await accountFor(placements, graphql);
    const ok = accounting.problems.length === 0 && notes.every((note) => note === "");
    console.log(
      `\n== ${label}: ${ok ? "every record accounted for" : "PROBLEMS"} ` +
        `(ingest ${((ingested - started) / 1000).toFixed(1)} s, accounting ${((Date.now() - ingested) / 1000).toFixed(1)} s)`,
    );
    for (const note of notes) if (note) console.log(`! ${note}`);
    console.log(formatAccounting(accounting, details));
    return ok;
  } finally {
    await app?.close();
    await store.dataSource.destroy();
    await drop();
  }
}

/** "" when an ingest summary's counts are what the records make, else what differs. */
function countsNote(
  what: string,
  summary: Record<string, number>,
  expected: { read: number; stored: number; rejected: number },
): string {
  const got = { read: summary.read, stored: summary.inserted + summary.duplicates, rejected: summary.rejected };
  return got.read === expected.read && got.stored === expected.stored && got.rejected === expected.rejected
    ? ""
    : `${what}: read ${got.read}, stored ${got.stored}, rejected ${got.rejected}; expected ${expected.read}, ${expected.stored}, ${expected.rejected}`;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(2);
  },
);
