/**
 * Vitest globalSetup: makes a MySQL-compatible server available to the suite
 * as `inject("mysqlUrl")` (see test/support/provided.d.ts).
 *
 *   MYSQL_URL=mysql://user:pass@host:port/   use that server (tests create their
 *                                            own tg_test_* databases in it)
 *   otherwise, if mariadbd/mysqld is found   start a throwaway server for the run
 *   otherwise                                provide null, warn loudly; when CI is
 *                                            set, fail the run instead
 *
 * TRAILGRAPH_MYSQL_BIN=none simulates "no server binary installed"
 * (see test/support/mysql-server.ts).
 */
import type { TestProject } from "vitest/node";
import { createConnection } from "mysql2/promise";
import { findMysqlServerBinary, startThrowawayMysql } from "./support/mysql-server";

function isCI(): boolean {
  const v = (process.env.CI ?? "").trim().toLowerCase();
  return v !== "" && v !== "false" && v !== "0";
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.href;
  } catch {
    return url;
  }
}

const HOW_TO_ENABLE = [
  "To run it, either:",
  "  - install a server binary:  sudo apt-get install mariadb-server",
  "    (or: brew install mariadb) — a throwaway instance is started per run;",
  "  - or point at an existing server:  MYSQL_URL=mysql://root@127.0.0.1:3306/ npm test",
  "    (tests create and drop their own tg_test_* databases in it).",
];

export default async function setup(project: TestProject): Promise<void | (() => Promise<void>)> {
  const fromEnv = process.env.MYSQL_URL?.trim();
  if (fromEnv) {
    try {
      const c = await createConnection({
        uri: fromEnv,
        connectTimeout: 10_000,
      });
      await c.end();
    } catch (err) {
      throw new Error(`MYSQL_URL=${redact(fromEnv)} is set but not reachable: ${(err as Error).message}`);
    }
    process.stderr.write(`[trailgraph] MySQL tests use MYSQL_URL=${redact(fromEnv)}\n`);
    project.provide("mysqlUrl", fromEnv);
    return;
  }

  const bin = findMysqlServerBinary();
  if (bin) {
    const server = await startThrowawayMysql({
      log: process.env.TRAILGRAPH_MYSQL_DEBUG ? (line) => process.stderr.write(`[mysql] ${line}\n`) : undefined,
    });
    process.stderr.write(`[trailgraph] MySQL tests use a throwaway ${bin} at ${server.url}\n`);
    project.provide("mysqlUrl", server.url);
    return () => server.stop();
  }

  if (isCI()) {
    throw new Error(
      [
        "No MySQL-compatible server for the test suite, and CI is set: refusing to skip the MySQL tests.",
        "No mariadbd/mysqld found on PATH, /usr/sbin, /usr/local/sbin or /usr/libexec, and MYSQL_URL is unset.",
        ...HOW_TO_ENABLE,
      ].join("\n"),
    );
  }

  const bar = "!".repeat(78);
  process.stderr.write(
    [
      "",
      bar,
      "!!  WARNING: THE MYSQL HALF OF THE TEST SUITE IS BEING SKIPPED.",
      "!!  No mariadbd/mysqld binary was found and MYSQL_URL is not set, so only",
      "!!  the SQLite store is tested. A green run does NOT cover MySQL.",
      ...HOW_TO_ENABLE.map((l) => `!!  ${l}`),
      bar,
      "",
      "",
    ].join("\n"),
  );
  project.provide("mysqlUrl", null);
}
