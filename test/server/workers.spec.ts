import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { createServer, type Server } from "node:net";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { storeConfig } from "../../src/db/datasource";
import { openStore } from "../../src/db/open";
import { ingest } from "../../src/ingest/ingest";
import { requireBuiltCli, runCli, serve } from "../support/cli";
import { buildEvent, ramUser } from "../support/event-builder";
import { arraySource } from "../support/harness";

/** The pids of a process's children (Linux). */
function childrenOf(pid: number): number[] {
  const text = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim();
  return text === "" ? [] : text.split(/\s+/).map(Number);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** POSTs a query on a connection of its own, answers the body. */
function postOnNewConnection(url: string, query: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      url,
      { method: "POST", agent: false, headers: { "content-type": "application/json" } },
      (response) => {
        let body = "";
        response.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
        response.on("end", () => resolve(body));
      },
    );
    request.on("error", reject);
    request.end(JSON.stringify({ query }));
  });
}

async function until(what: string, check: () => boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe.skipIf(process.platform !== "linux")("serve --workers", () => {
  let dir: string;
  beforeAll(async () => {
    requireBuiltCli();
    dir = await mkdtemp(join(tmpdir(), "trailgraph-workers-"));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it("prepares the store once, serves from N workers on one port, replaces a dead one, stops them all", async () => {
    const cwd = join(dir, "fresh");
    await mkdir(cwd);
    const server = await serve({ cwd, args: ["--workers", "2"] });
    const primary = server.child.pid!;
    try {
      // The primary migrated and loaded the samples, once, and said where the API is, once.
      expect(server.log().match(/applied migration Initial/g)).toHaveLength(1);
      expect(server.log().match(/loaded 67 sample events/g)).toHaveLength(1);
      expect(server.log().match(/GraphQL API at/g)).toHaveLength(1);
      expect(server.log()).toContain("from 2 worker processes");
      await until("two workers", () => childrenOf(primary).length === 2);
      const workers = childrenOf(primary);

      // Concurrent requests on separate connections are all answered from the one store.
      const answers = await Promise.all(Array.from({ length: 20 }, () => server.query(`{ events { totalCount } }`)));
      expect(answers.map((answer) => answer.data.events.totalCount)).toEqual(Array(20).fill(67));

      // A worker that dies is replaced; the API answers new connections throughout (a
      // connection the dead worker held is gone with it).
      process.kill(workers[0]!, "SIGKILL");
      await until("the worker's end", () => !alive(workers[0]!));
      expect(JSON.parse(await postOnNewConnection(server.url, `{ events { totalCount } }`))).toMatchObject({
        data: { events: { totalCount: 67 } },
      });
      await until("a replacement worker", () => {
        const now = childrenOf(primary);
        return now.length === 2 && !now.includes(workers[0]!);
      });
      expect(server.log()).toMatch(new RegExp(`worker ${workers[0]} exited with signal SIGKILL: starting another`));
      const again = await Promise.all(
        Array.from({ length: 10 }, () => postOnNewConnection(server.url, `{ events { totalCount } }`)),
      );
      expect(again.map((body) => JSON.parse(body).data.events.totalCount)).toEqual(Array(10).fill(67));

      // SIGTERM stops every worker, then the primary, with exit code 0.
      const last = childrenOf(primary);
      const ended = await server.stop();
      expect(ended.code).toBe(0);
      expect(last.filter(alive)).toEqual([]);
    } finally {
      if (alive(primary)) process.kill(primary, "SIGKILL");
    }
  });

  it("'auto' starts one worker per available CPU", async () => {
    const server = await serve({
      cwd: dir,
      databaseUrl: `sqlite:${join(dir, "auto.sqlite")}`,
      env: { TRAILGRAPH_WORKERS: "auto" },
    });
    try {
      expect(server.log()).toContain(`from ${availableParallelism()} worker processes`);
      await until("the workers", () => childrenOf(server.child.pid!).length === availableParallelism());
      expect((await server.query(`{ events { totalCount } }`)).data.events.totalCount).toBe(0);
    } finally {
      expect((await server.stop()).code).toBe(0);
    }
  });

  it("stops with exit code 1 when workers cannot listen, and says why", async () => {
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      const run = await runCli(["serve", "--port", String(port), "--workers", "2"], {
        cwd: dir,
        databaseUrl: `sqlite:${join(dir, "taken.sqlite")}`,
      });
      expect(run.code).toBe(1);
      expect(run.stderr).toContain("EADDRINUSE");
      expect(run.stderr).toMatch(/worker \d+ exited with code \d+ before it listened: stopping/);
      expect(run.stderr).not.toContain("GraphQL API at");
    } finally {
      taken.close();
    }
  });

  it("refuses a bad worker count before it starts anything", async () => {
    for (const [args, env, message] of [
      [["--workers", "0"], {}, "--workers '0' is not a number of processes from 1 to 64, or 'auto'"],
      [["--workers", "two"], {}, "--workers 'two' is not a number"],
      [[], { TRAILGRAPH_WORKERS: "1.5" }, "TRAILGRAPH_WORKERS '1.5' is not a number"],
    ] as const) {
      const run = await runCli(["serve", "--port", "0", ...args], {
        cwd: dir,
        databaseUrl: `sqlite:${join(dir, "refused.sqlite")}`,
        env,
      });
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(message);
      expect(run.stderr).not.toContain("applied migration");
    }
  });
  it("logs the request a worker had in flight when it died (out of memory), and keeps answering", async () => {
    // 3,000 events of 30 identities; with every limit off, three levels of 100 events per identity
    // are a million nodes: more than a 96 MB heap holds.
    const url = `sqlite:${join(dir, "heap.sqlite")}`;
    const store = await openStore(storeConfig(url), { migrate: true });
    const events = Array.from({ length: 3_000 }, (_, n) => buildEvent({ userIdentity: ramUser(`user${n % 30}`) }));
    await ingest(store.dataSource, [arraySource(events)]);
    await store.dataSource.destroy();
    const server = await serve({
      cwd: dir,
      databaseUrl: url,
      args: ["--workers", "2"],
      env: {
        NODE_OPTIONS: "--max-old-space-size=96",
        TRAILGRAPH_MAX_COST: "off",
        TRAILGRAPH_MAX_DEPTH: "off",
        TRAILGRAPH_COST_PER_SECOND: "off",
        TRAILGRAPH_MAX_ROWS: "off",
        TRAILGRAPH_MAX_RESPONSE_BYTES: "off",
        TRAILGRAPH_REQUEST_TIMEOUT_MS: "off",
      },
    });
    const primary = server.child.pid!;
    try {
      await until("two workers", () => childrenOf(primary).length === 2);
      // Requests that ended are not in flight.
      for (let n = 0; n < 10; n++)
        expect(
          JSON.parse(await postOnNewConnection(server.url, "query Small { events { totalCount } }")),
        ).toMatchObject({
          data: { events: { totalCount: 3_000 } },
        });
      let inner = "eventId";
      for (let level = 3; level > 0; level--)
        inner = `eventId userIdentity { events(first: 100, filter: { eventNames: ["DescribeInstances", "l${level}"] }) { nodes { ${inner} } } }`;
      const fatal = `query Exhaust { events(first: 100) { nodes { ${inner} } } }`;
      await expect(postOnNewConnection(server.url, fatal)).rejects.toThrow(/socket hang up|ECONNRESET/);
      await until("the primary's report", () => /had in flight/.test(server.log()), 60_000);
      const log = server.log();
      const died = /worker (\d+) exited with (signal SIGABRT|code 134): starting another/.exec(log);
      expect(died, log).not.toBeNull();
      const reports = log.match(/worker \d+ had in flight: .*/g);
      expect(reports).toHaveLength(1);
      expect(reports![0]).toMatch(
        new RegExp(
          `^worker ${died![1]} had in flight: request [0-9a-f-]{36} \\(operation Exhaust, subject open, cost \\d+, \\d+ ms\\)$`,
        ),
      );
      expect(log).not.toMatch(/operation Small/);
      // The other worker answers at once; a replacement takes the dead one's place.
      expect(JSON.parse(await postOnNewConnection(server.url, "{ events { totalCount } }"))).toMatchObject({
        data: { events: { totalCount: 3_000 } },
      });
      await until("a replacement worker", () => {
        const now = childrenOf(primary);
        return now.length === 2 && !now.includes(Number(died![1]));
      });
      expect((await server.stop()).code).toBe(0);
    } finally {
      if (alive(primary)) process.kill(primary, "SIGKILL");
    }
  }, 90_000);
});
