import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { runCli, serve, summaryOf } from "./support/cli";
import { SAMPLES } from "./support/delivery";
import { createTestDatabase } from "./support/mysql-server";

describe("trailgraph CLI", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "trailgraph-cli-"));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it("serve on a new embedded store loads the samples, says so, and answers queries", async () => {
    const cwd = join(dir, "fresh");
    await mkdir(cwd);
    const server = await serve({ cwd });
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
    const again = await serve({ cwd });
    try {
      expect(again.log()).not.toMatch(/sample events/);
      expect((await again.query(`{ events { totalCount } }`)).data.events.totalCount).toBe(67);
    } finally {
      await again.stop();
    }
  });

  it("never loads samples into a store named by DATABASE_URL", async () => {
    const server = await serve({ cwd: dir, databaseUrl: `sqlite:${join(dir, "named.sqlite")}` });
    try {
      expect(server.log()).not.toMatch(/sample events/);
      expect((await server.query(`{ events { totalCount } }`)).data.events.totalCount).toBe(0);
    } finally {
      await server.stop();
    }
  });

  it("ingest prints what it did; a second run skips the file; --force reads it again and changes nothing", async () => {
    const options = { cwd: dir, databaseUrl: `sqlite:${join(dir, "ingest.sqlite")}` };
    const first = await runCli(["ingest", SAMPLES], options);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/67 record\(s\) read, 67 new, 0 already present, 0 rejected/);
    const second = await runCli(["ingest", "--json", SAMPLES], options);
    expect(second.code).toBe(0);
    expect(summaryOf(second)).toMatchObject({ files: 0, skipped: 1, read: 0, inserted: 0 });
    const forced = await runCli(["ingest", "--json", "--force", SAMPLES], options);
    expect(forced.code).toBe(0);
    expect(summaryOf(forced)).toMatchObject({
      read: 67,
      inserted: 0,
      duplicates: 67,
      rejected: 0,
      rejects: [],
    });
  });

  it("ingest samples/ (the folder, as a newcomer types it) stores the 67 events and says it skipped the README", async () => {
    const database = join(dir, "samples-folder.sqlite");
    const rejectsFile = join(dir, "samples-folder-rejects.jsonl");
    // From the repository, where `samples/` is: the command as the README's reader runs it.
    const options = { cwd: process.cwd(), databaseUrl: `sqlite:${database}` };
    const run = await runCli(["ingest", "--rejects", rejectsFile, "samples/"], options);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`1 file(s), 1 not event file(s) skipped (${join("samples", "README.md")})`);
    expect(run.stdout).toMatch(/67 record\(s\) read, 67 new, 0 already present, 0 rejected/);
    expect(run.stderr).not.toMatch(/rejected/);
    expect(existsSync(rejectsFile)).toBe(false);
    const store = new Database(database, { readonly: true });
    try {
      expect(store.prepare("SELECT COUNT(*) AS n FROM events").get()).toEqual({ n: 67 });
    } finally {
      store.close();
    }
    const again = await runCli(["ingest", "--json", "--rejects", rejectsFile, "samples/"], options);
    expect(again.code, again.stderr).toBe(0);
    expect(summaryOf(again)).toMatchObject({ files: 0, skipped: 1, read: 0, rejected: 0, notEventFiles: 1 });
  });

  it("a folder walk skips a README.md, but a README.md named on the command line is read (and rejected)", async () => {
    const folder = join(dir, "with-readme");
    await mkdir(join(folder, "2024"), { recursive: true });
    const event = {
      eventId: "readme-1",
      eventTime: "2024-01-01T00:00:00Z",
      eventName: "QueryBill",
      userIdentity: { type: "system" },
    };
    await writeFile(join(folder, "2024", "events.json"), JSON.stringify([event]));
    const readme = join(folder, "2024", "README.md");
    await writeFile(readme, "# Deliveries\n\nCopied from the bucket.\n");
    // LICENSE and notes.txt are documentation too.
    await writeFile(join(folder, "LICENSE"), "MIT\n");
    await writeFile(join(folder, "notes.txt"), "ask Li about the March gap\n");
    const options = { cwd: dir, databaseUrl: `sqlite:${join(dir, "with-readme.sqlite")}` };
    const walked = await runCli(["ingest", "--json", "--rejects", join(dir, "walked.jsonl"), folder], options);
    expect(walked.code, walked.stderr).toBe(0);
    expect(summaryOf(walked)).toMatchObject({ files: 1, read: 1, inserted: 1, rejected: 0, notEventFiles: 3 });
    const human = await runCli(["ingest", "--force", "--rejects", join(dir, "walked.jsonl"), folder], options);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain(
      `3 not event file(s) skipped (${join(folder, "2024", "README.md")}, ${join(folder, "LICENSE")}, ` +
        `${join(folder, "notes.txt")})`,
    );
    const named = await runCli(["ingest", "--json", "--rejects", join(dir, "named.jsonl"), readme], options);
    expect(named.code).toBe(1);
    const summary = summaryOf(named);
    expect(summary).toMatchObject({ files: 1, rejected: 1 });
    expect(summary.notEventFiles).toBeUndefined();
    expect(summary.rejects[0]).toMatchObject({ source: readme });
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
    const result = await runCli(["ingest", "--account", "1234", file], {
      cwd: dir,
      databaseUrl: `sqlite:${join(dir, "mixed.sqlite")}`,
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`rejected ${file} line 2: not valid JSON`);
    expect(result.stderr).toContain(`rejected ${file} line 3: not an event: it has no eventId`);
    expect(result.stdout).toMatch(/1 new/);
  });

  it("--json prints a summary larger than a pipe's buffer whole", async () => {
    const file = join(dir, "many-rejects.jsonl");
    const lines = Array.from({ length: 150 }, (_, index) =>
      JSON.stringify({ eventId: `r${index}`, eventTime: "not a time", pad: "x".repeat(20_000) }),
    );
    await writeFile(file, `${lines.join("\n")}\n`);
    const result = await runCli(["ingest", "--json", "--rejects", join(dir, "many.jsonl"), file], {
      cwd: dir,
      databaseUrl: `sqlite:${join(dir, "many.sqlite")}`,
    });
    expect(result.code, result.stderr).toBe(1);
    expect(result.stdout.length).toBeGreaterThan(1_000_000);
    expect(summaryOf(result)).toMatchObject({ read: 150, rejected: 150 });
  });

  it("generate needs only --out, and says so once (with the usage) when it is missing", async () => {
    const missing = await runCli(["generate"], { cwd: dir });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^trailgraph: generate needs --out <folder>\n/);
    expect(missing.stderr).toContain("generate --out <folder> [--events N] [--accounts M] [--seed S]");
    const out = join(dir, "generated");
    const run = await runCli(["generate", "--out", out], { cwd: dir });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^generated 1000 events for 5 account\(s\), seed 1, into /);
  });

  it("exits 2 with a clear message on usage and connection errors", async () => {
    const usage = await runCli(["ingest"], { cwd: dir });
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("ingest needs at least one file");
    const missing = await runCli(["ingest", join(dir, "nope.json")], {
      cwd: dir,
      databaseUrl: `sqlite:${join(dir, "x.sqlite")}`,
    });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("nope.json");
    const badUrl = await runCli(["migrate"], { cwd: dir, databaseUrl: "postgres://localhost/db" });
    expect(badUrl.code).toBe(2);
    expect(badUrl.stderr).toContain("is not supported");
    const refused = await runCli(["migrate"], { cwd: dir, databaseUrl: "mysql://root@127.0.0.1:1/db" });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("Cannot connect to mysql://root@127.0.0.1:1/db");
  });

  const mysqlUrl = inject("mysqlUrl");
  it.skipIf(!mysqlUrl)(
    "on MySQL: refuses to run on pending migrations, `migrate` applies them, then ingest works",
    async () => {
      const database = await createTestDatabase(mysqlUrl!);
      try {
        const options = { cwd: dir, databaseUrl: database.url };
        const early = await runCli(["ingest", SAMPLES], options);
        expect(early.code).toBe(2);
        expect(early.stderr).toContain("pending migrations");
        const migrate = await runCli(["migrate"], options);
        expect(migrate.code).toBe(0);
        expect(migrate.stderr).toContain("applied migration");
        const ingest = await runCli(["ingest", SAMPLES], options);
        expect(ingest.code).toBe(0);
        expect(ingest.stdout).toMatch(/67 new/);
      } finally {
        await database.drop();
      }
    },
  );
});
