import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createTestDatabase } from "./support/mysql-server";

/** The built CLI, as `npx trailgraph` runs it (`npm test` builds first). */
const CLI = resolve("dist/src/cli.js");
const SAMPLES = resolve("samples/events.json");

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], env: Record<string, string | undefined>, cwd: string): Promise<Run> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd,
      env: { ...process.env, DATABASE_URL: undefined, ...env },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code) => resolvePromise({ code, stdout, stderr }));
  });
}

/** Starts `serve` on a free port, waits for its address, returns it and a stop function. */
async function serve(env: Record<string, string | undefined>, cwd: string) {
  const child = spawn(process.execPath, [CLI, "serve", "--port", "0"], {
    cwd,
    env: { ...process.env, DATABASE_URL: undefined, ...env },
  });
  let log = "";
  const url = await new Promise<string>((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start:\n${log}`)), 60_000);
    child.stderr.on("data", (chunk) => {
      log += chunk;
      const match = /GraphQL API at (http:\/\/\S+)/.exec(log);
      if (match) {
        clearTimeout(timer);
        resolvePromise(match[1]);
      }
    });
    child.on("close", () => reject(new Error(`serve exited:\n${log}`)));
  });
  return {
    url,
    log: () => log,
    async query(query: string) {
      const response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query }),
      });
      return (await response.json()) as { data: any; errors?: unknown[] };
    },
    stop: () =>
      new Promise<void>((resolvePromise) => {
        child.on("close", () => resolvePromise());
        child.kill("SIGTERM");
      }),
  };
}

describe("trailgraph CLI", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "trailgraph-cli-"));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it("serve on a new embedded store loads the samples, says so, and answers queries", async () => {
    const cwd = join(dir, "fresh");
    await import("node:fs/promises").then((fs) => fs.mkdir(cwd));
    const server = await serve({}, cwd);
    try {
      expect(server.log()).toMatch(/loaded 67 sample events/);
      expect(server.log()).toContain("sqlite:data/trailgraph.sqlite");
      const result = await server.query(`{ events(first: 1) { totalCount } eventCatalog { eventName } }`);
      expect(result.data.events.totalCount).toBe(67);
      expect(result.data.eventCatalog.length).toBeGreaterThan(100);
      const page = await fetch(server.url, { headers: { accept: "text/html" } });
      expect(page.status).toBe(200);
      expect(await page.text()).toContain("<title>TrailGraph</title>");
    } finally {
      await server.stop();
    }
    // A second start finds the store populated and loads nothing more.
    const again = await serve({}, cwd);
    try {
      expect(again.log()).not.toMatch(/sample events/);
      expect((await again.query(`{ events { totalCount } }`)).data.events.totalCount).toBe(67);
    } finally {
      await again.stop();
    }
  });

  it("never loads samples into a store named by DATABASE_URL", async () => {
    const server = await serve({ DATABASE_URL: `sqlite:${join(dir, "named.sqlite")}` }, dir);
    try {
      expect(server.log()).not.toMatch(/sample events/);
      expect((await server.query(`{ events { totalCount } }`)).data.events.totalCount).toBe(0);
    } finally {
      await server.stop();
    }
  });

  it("ingest prints what it did; a second run skips the file; --force reads it again and changes nothing", async () => {
    const env = { DATABASE_URL: `sqlite:${join(dir, "ingest.sqlite")}` };
    const first = await run(["ingest", SAMPLES], env, dir);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/67 record\(s\) read, 67 new, 0 already present, 0 rejected/);
    const second = await run(["ingest", "--json", SAMPLES], env, dir);
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ files: 0, skipped: 1, read: 0, inserted: 0 });
    const forced = await run(["ingest", "--json", "--force", SAMPLES], env, dir);
    expect(forced.code).toBe(0);
    expect(JSON.parse(forced.stdout)).toMatchObject({
      read: 67,
      inserted: 0,
      duplicates: 67,
      rejected: 0,
      rejects: [],
    });
  });

  it("rejects bad records with file and position, keeps the rest, exits 1", async () => {
    const file = join(dir, "mixed.jsonl");
    const good = {
      eventId: "good-1",
      eventTime: "2024-01-01T00:00:00Z",
      eventName: "QueryBill",
      userIdentity: { type: "system" },
    };
    await writeFile(file, `${JSON.stringify(good)}\n{"eventId": "broken"\n${JSON.stringify({ eventName: "x" })}\n`);
    const result = await run(
      ["ingest", "--account", "1234", file],
      { DATABASE_URL: `sqlite:${join(dir, "mixed.sqlite")}` },
      dir,
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`rejected ${file} line 2: not valid JSON`);
    expect(result.stderr).toContain(`rejected ${file} line 3: not an event: it has no eventId`);
    expect(result.stdout).toMatch(/1 new/);
  });

  it("exits 2 with a clear message on usage and connection errors", async () => {
    const usage = await run(["ingest"], {}, dir);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("ingest needs at least one file");
    const missing = await run(
      ["ingest", join(dir, "nope.json")],
      { DATABASE_URL: `sqlite:${join(dir, "x.sqlite")}` },
      dir,
    );
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("nope.json");
    const badUrl = await run(["migrate"], { DATABASE_URL: "postgres://localhost/db" }, dir);
    expect(badUrl.code).toBe(2);
    expect(badUrl.stderr).toContain("is not supported");
    const refused = await run(["migrate"], { DATABASE_URL: "mysql://root@127.0.0.1:1/db" }, dir);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("Cannot connect to mysql://root@127.0.0.1:1/db");
  });

  const mysqlUrl = inject("mysqlUrl");
  it.skipIf(!mysqlUrl)(
    "on MySQL: refuses to run on pending migrations, `migrate` applies them, then ingest works",
    async () => {
      const database = await createTestDatabase(mysqlUrl!);
      try {
        const env = { DATABASE_URL: database.url };
        const early = await run(["ingest", SAMPLES], env, dir);
        expect(early.code).toBe(2);
        expect(early.stderr).toContain("pending migrations");
        const migrate = await run(["migrate"], env, dir);
        expect(migrate.code).toBe(0);
        expect(migrate.stderr).toContain("applied migration");
        const ingest = await run(["ingest", SAMPLES], env, dir);
        expect(ingest.code).toBe(0);
        expect(ingest.stdout).toMatch(/67 new/);
      } finally {
        await database.drop();
      }
    },
  );
});
