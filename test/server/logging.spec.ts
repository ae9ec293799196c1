/**
 * The log: an internal error is logged with its stack under the request ID the client was
 * given, whether or not request lines are on; TRAILGRAPH_LOG_LEVEL filters what is written.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import type { GraphQLSchema } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OPEN } from "../../src/auth/settings";
import { buildTrailGraphSchema } from "../../src/schema/build";
import { createApp, type AppOptions } from "../../src/server/app";
import { requireBuiltCli, runCli, serve } from "../support/cli";
import { samples } from "../support/delivery";
import { openTestStore, type TestStore } from "../support/harness";
import { storesUnderTest } from "../support/stores";

const FAILING = JSON.stringify({ query: "{ resources(first: 3) { nodes { resourceId } } }" });

describe.each(storesUnderTest())("logging ($kind)", ({ kind, available }) => {
  let store: TestStore;
  let schema: GraphQLSchema;
  beforeAll(async () => {
    if (!available) return;
    store = await openTestStore(kind);
    await store.ingestEvents(samples);
    schema = await buildTrailGraphSchema();
  });
  afterAll(async () => store?.close());

  /** The JSON lines an app logs while it answers one failing request; and the request ID it answered. */
  const failOnce = async (options: Partial<AppOptions>) => {
    let text = "";
    const stream = new PassThrough();
    stream.on("data", (chunk) => (text += chunk));
    const logger = { stream, ...(typeof options.logger === "object" ? options.logger : {}) };
    const app = await createApp({ dataSource: store.dataSource, schema, auth: OPEN, ...options, logger });
    await store.dataSource.query("ALTER TABLE resources RENAME TO resources_gone");
    try {
      const answer = await app.inject({
        method: "POST",
        url: "/graphql",
        headers: { "content-type": "application/json" },
        payload: FAILING,
      });
      const error = JSON.parse(answer.body).errors[0];
      expect(error.extensions.code).toBe("INTERNAL_SERVER_ERROR");
      await app.close();
      const lines = text
        .trim()
        .split("\n")
        .filter((line) => line !== "")
        .map((line) => JSON.parse(line) as Record<string, any>);
      return { lines, requestId: error.extensions.requestId as string };
    } finally {
      await store.dataSource.query("ALTER TABLE resources_gone RENAME TO resources");
    }
  };

  it.skipIf(!available)(
    "an internal error's line has its stack and the request ID, request lines on or off",
    async () => {
      for (const logRequests of [true, false]) {
        const { lines, requestId } = await failOnce({ logRequests });
        const failure = lines.find((line) => line.msg === "GraphQL execution failed");
        expect(failure, JSON.stringify(lines)).toBeDefined();
        expect(failure!.level).toBe(50);
        expect(failure!.reqId).toBe(requestId);
        expect(failure!.err.type).toBe("QueryFailedError");
        expect(failure!.err.stack).toMatch(/^QueryFailedError: .*resources[\s\S]*\n\s+at /);
        const requestLines = lines.filter((line) => line.msg === "request");
        expect(requestLines).toHaveLength(logRequests ? 1 : 0);
        if (logRequests) expect(requestLines[0]).toMatchObject({ reqId: requestId, status: 200 });
      }
    },
  );

  it.skipIf(!available)("the level filters: warn drops request lines, fatal drops errors too", async () => {
    const warn = await failOnce({ logger: { level: "warn" } });
    expect(warn.lines.map((line) => line.msg)).toContain("GraphQL execution failed");
    expect(warn.lines.filter((line) => line.msg === "request")).toEqual([]);
    expect(warn.lines.every((line) => line.level >= 40)).toBe(true);
    const fatal = await failOnce({ logger: { level: "fatal" } });
    expect(fatal.lines).toEqual([]);
    const debug = await failOnce({ logger: { level: "debug" } });
    expect(debug.lines.map((line) => line.msg)).toEqual(
      expect.arrayContaining(["GraphQL execution failed", "request"]),
    );
  });
});

describe("TRAILGRAPH_LOG_LEVEL (serve)", () => {
  let dir: string;
  beforeAll(async () => {
    requireBuiltCli();
    dir = await mkdtemp(join(tmpdir(), "trailgraph-logging-"));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  const requestLines = async (env: Record<string, string>) => {
    const server = await serve({ cwd: dir, databaseUrl: `sqlite:${join(dir, "log.sqlite")}`, env });
    let stdout = "";
    server.child.stdout!.on("data", (chunk) => (stdout += chunk));
    try {
      expect((await server.query("{ events { totalCount } }")).data.events.totalCount).toBe(0);
      // The line is written once the answer is sent: give the pipe a moment.
      await new Promise((resolve) => setTimeout(resolve, 200));
    } finally {
      expect((await server.stop()).code).toBe(0);
    }
    return stdout.split("\n").filter((line) => line.includes('"msg":"request"'));
  };

  it("info (the default) writes request lines; warn does not; a bad value is refused, naming the variable", async () => {
    expect(await requestLines({})).toHaveLength(1);
    expect(await requestLines({ TRAILGRAPH_LOG_LEVEL: "warn" })).toHaveLength(0);
    const bad = await runCli(["serve", "--port", "0"], {
      cwd: dir,
      databaseUrl: `sqlite:${join(dir, "log.sqlite")}`,
      env: { TRAILGRAPH_LOG_LEVEL: "verbose" },
    });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain(
      "TRAILGRAPH_LOG_LEVEL 'verbose' is not one of fatal, error, warn, info, debug, trace.",
    );
  });
});
