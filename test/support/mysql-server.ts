/**
 * Throwaway MySQL-compatible server for tests and benchmarks.
 *
 * `startThrowawayMysql()` initialises a brand-new data directory under
 * `os.tmpdir()/trailgraph-mysql-XXXXXX`, starts `mariadbd` (or `mysqld`) on a
 * free loopback port with `--no-defaults` (so no system my.cnf, socket, port
 * or data directory is touched; an already running system service does not
 * matter) and returns a `mysql://root@127.0.0.1:PORT/` URL with no database.
 *
 * Environment:
 *   TRAILGRAPH_MYSQL_BIN  Override server discovery.
 *                         - an absolute path: use that mariadbd/mysqld binary;
 *                         - "none" (also "", "0", "false", "off"): behave as if
 *                           no server binary were installed (used to exercise
 *                           the "MySQL suite skipped" / CI-failure paths).
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { accessSync, constants as fsConstants, rmSync, statSync } from "node:fs";
import * as fs from "node:fs/promises";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { createConnection, type Connection, type ConnectionOptions } from "mysql2/promise";

const execFileAsync = promisify(execFile);

export interface ThrowawayMysql {
  /** `mysql://root@127.0.0.1:PORT/` — no database selected. */
  url: string;
  port: number;
  /** The server process's pid (a new one after restart()). */
  readonly pid: number;
  /** SIGSTOP: the server keeps its connections open but answers nothing (a hung host). */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
  /**
   * Stops the server (SIGTERM, waits for its exit) and starts it again on the same data
   * directory and port, `downMs` later (connections are refused meanwhile).
   */
  restart(options?: { downMs?: number }): Promise<void>;
  /** SIGTERM the server, wait for it to exit, remove its temp dir. Idempotent. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Progress/diagnostic lines (server stdout/stderr included). */
  log?: (line: string) => void;
  /** InnoDB buffer pool in MiB (default 256: enough for the tests' data). */
  bufferPoolMb?: number;
}

const SERVER_NAMES = ["mariadbd", "mysqld"];
const EXTRA_SBIN_DIRS = ["/usr/sbin", "/usr/local/sbin", "/usr/libexec"];
const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 30_000;

function isExecutableFile(p: string): boolean {
  try {
    if (!statSync(p).isFile()) return false;
    accessSync(p, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function searchDirs(extra: string[]): string[] {
  const fromPath = (process.env.PATH ?? "").split(path.delimiter).filter(Boolean);
  return [...new Set([...fromPath, ...extra])];
}

function findExecutable(names: string[], dirs: string[]): string | undefined {
  for (const name of names) {
    for (const dir of dirs) {
      const candidate = path.join(dir, name);
      if (isExecutableFile(candidate)) return candidate;
    }
  }
  return undefined;
}

/**
 * Locate `mariadbd` or `mysqld` on PATH plus /usr/sbin, /usr/local/sbin,
 * /usr/libexec. Honours TRAILGRAPH_MYSQL_BIN (see the file header).
 */
export function findMysqlServerBinary(): string | undefined {
  const override = process.env.TRAILGRAPH_MYSQL_BIN;
  if (override !== undefined) {
    const v = override.trim();
    if (["", "none", "0", "false", "off"].includes(v.toLowerCase())) return undefined;
    if (isExecutableFile(v)) return v;
    throw new Error(`TRAILGRAPH_MYSQL_BIN=${override} is not an executable file`);
  }
  return findExecutable(SERVER_NAMES, searchDirs(EXTRA_SBIN_DIRS));
}

function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error("could not determine a free port"))));
    });
  });
}

async function tailFile(file: string, lines = 40): Promise<string> {
  try {
    const text = await fs.readFile(file, "utf8");
    return text.split("\n").slice(-lines).join("\n").trim();
  } catch {
    return "(no error log)";
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function runningAsRoot(): boolean {
  return typeof process.getuid === "function" && process.getuid() === 0;
}

type Flavor = "mariadb" | "mysql";

async function detectFlavor(bin: string): Promise<Flavor> {
  const { stdout } = await execFileAsync(bin, ["--version"], {
    timeout: 30_000,
  });
  return /mariadb/i.test(stdout) ? "mariadb" : "mysql";
}

async function initDataDir(bin: string, flavor: Flavor, datadir: string, log: (line: string) => void): Promise<void> {
  const user = os.userInfo().username;
  let cmd: string;
  let args: string[];
  if (flavor === "mariadb") {
    const binDir = path.dirname(bin);
    const installDb = findExecutable(
      ["mariadb-install-db", "mysql_install_db"],
      // Prefer the installation the server binary belongs to.
      [...new Set([binDir, path.resolve(binDir, "..", "bin"), ...searchDirs(["/usr/bin", "/usr/local/bin"])])],
    );
    if (!installDb) throw new Error(`found ${bin} but no mariadb-install-db to initialise a data directory`);
    cmd = installDb;
    args = [
      "--no-defaults",
      "--auth-root-authentication-method=normal",
      `--datadir=${datadir}`,
      `--user=${user}`,
      "--skip-test-db",
    ];
  } else {
    cmd = bin;
    args = ["--no-defaults", "--initialize-insecure", `--datadir=${datadir}`, `--user=${user}`];
  }
  log(`initialising data directory: ${cmd} ${args.join(" ")}`);
  try {
    await execFileAsync(cmd, args, {
      timeout: 120_000,
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(
      `initialising MySQL data directory failed: ${e.message}\n${e.stdout ?? ""}\n${e.stderr ?? ""}`.trim(),
    );
  }
}

function isAuthError(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === "ER_HOST_NOT_PRIVILEGED" || code === "ER_ACCESS_DENIED_ERROR" || code === "ER_HOST_IS_BLOCKED";
}

async function tryConnect(opts: ConnectionOptions): Promise<Connection> {
  return createConnection({ connectTimeout: 2_000, ...opts });
}

/**
 * Spawns a tiny detached shell that kills the server and removes the temp dir
 * if this Node process disappears without running its 'exit' handlers (e.g.
 * SIGKILL of the test runner). Killed by stop().
 */
function spawnWatchdog(serverPid: number, tmp: string): ChildProcess | undefined {
  if (process.platform === "win32") return undefined;
  const script =
    'while kill -0 "$1" 2>/dev/null; do sleep 1; done; ' + 'kill -KILL "$2" 2>/dev/null; sleep 1; rm -rf "$3"';
  try {
    const wd = spawn("sh", ["-c", script, "trailgraph-mysql-watchdog", String(process.pid), String(serverPid), tmp], {
      detached: true,
      stdio: "ignore",
    });
    wd.on("error", () => undefined);
    wd.unref();
    return wd;
  } catch {
    return undefined;
  }
}

export async function startThrowawayMysql(opts: StartOptions = {}): Promise<ThrowawayMysql> {
  const log = opts.log ?? (() => undefined);
  const bin = findMysqlServerBinary();
  if (!bin) throw new Error("no mariadbd/mysqld binary found (install mariadb-server or set MYSQL_URL)");
  const serverBin: string = bin;
  const flavor = await detectFlavor(serverBin);

  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), "trailgraph-mysql-"));
  const datadir = path.join(tmp, "data");
  const socket = path.join(tmp, "mysql.sock");
  const errorLog = path.join(tmp, "error.log");
  const pidFile = path.join(tmp, "mysql.pid");
  const removeTmp = () => fs.rm(tmp, { recursive: true, force: true, maxRetries: 3 });

  try {
    await initDataDir(serverBin, flavor, datadir, log);
  } catch (err) {
    await removeTmp();
    throw err;
  }

  // The free port may be grabbed by someone else between close() and the
  // server's bind(); retry a couple of times on that specific failure.
  for (let attempt = 1; ; attempt++) {
    const port = await freeLoopbackPort();
    try {
      return controls(await launch(port));
    } catch (err) {
      const bindClash = /address already in use|bind on tcp\/ip port/i.test(String((err as Error).message));
      if (bindClash && attempt < 3) {
        log(`port ${port} was taken, retrying`);
        await fs.rm(errorLog, { force: true });
        continue;
      }
      await removeTmp();
      throw err;
    }
  }

  /** The server as tests see it: one handle across restarts. */
  function controls(first: Launched): ThrowawayMysql {
    let current = first;
    let stopPromise: Promise<void> | undefined;
    const signal = (name: NodeJS.Signals) => {
      if (!current.running()) throw new Error("the throwaway MySQL server is not running");
      process.kill(current.pid, name);
    };
    return {
      url: first.url,
      port: first.port,
      get pid() {
        return current.pid;
      },
      pause: () => signal("SIGSTOP"),
      resume: () => signal("SIGCONT"),
      async restart(options = {}) {
        if (current.running()) process.kill(current.pid, "SIGCONT");
        await current.shutdown();
        if (options.downMs) await sleep(options.downMs);
        current = await launch(first.port);
      },
      stop: () =>
        (stopPromise ??= (async () => {
          // A paused server would not act on SIGTERM until continued.
          if (current.running()) process.kill(current.pid, "SIGCONT");
          await current.shutdown();
          await removeTmp();
          log("server stopped");
        })()),
    };
  }

  interface Launched {
    url: string;
    port: number;
    pid: number;
    running(): boolean;
    /** Stops the server process (keeps the temp dir). */
    shutdown(): Promise<void>;
  }

  async function launch(port: number): Promise<Launched> {
    const args = [
      "--no-defaults",
      `--datadir=${datadir}`,
      `--socket=${socket}`,
      `--port=${port}`,
      "--bind-address=127.0.0.1",
      "--skip-name-resolve",
      ...(runningAsRoot() ? ["--user=root"] : []),
      `--innodb-buffer-pool-size=${opts.bufferPoolMb ?? 256}M`,
      "--innodb-flush-log-at-trx-commit=2",
      "--skip-log-bin",
      // MariaDB deletes every #sql* file in its tmpdir at start: a shared /tmp would let one
      // throwaway server remove another's live temporary tables.
      `--tmpdir=${tmp}`,
      "--character-set-server=utf8mb4",
      "--collation-server=utf8mb4_unicode_ci",
      "--max-connections=500",
      `--pid-file=${pidFile}`,
      `--log-error=${errorLog}`,
    ];
    log(`starting ${serverBin} ${args.join(" ")}`);
    const started = Date.now();
    const child = spawn(serverBin, args, { stdio: ["ignore", "pipe", "pipe"] });
    const output: string[] = [];
    const onData = (buf: Buffer) => {
      for (const line of buf.toString("utf8").split("\n")) {
        if (!line.trim()) continue;
        output.push(line);
        if (output.length > 50) output.shift();
        log(`[${path.basename(serverBin)}] ${line}`);
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);

    let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    const exitPromise = new Promise<void>((resolve) => {
      child.once("exit", (code, signal) => {
        exited = { code, signal };
        resolve();
      });
    });
    let spawnError: Error | undefined;
    child.once("error", (e) => {
      spawnError = e;
    });

    // Never let the server outlive this process: kill it from an 'exit'
    // handler, and from a detached watchdog if we die without running one.
    const watchdog = child.pid ? spawnWatchdog(child.pid, tmp) : undefined;
    const killOnExit = () => {
      for (const p of [child, watchdog]) {
        try {
          p?.kill("SIGKILL");
        } catch {
          /* already gone */
        }
      }
      try {
        rmSync(tmp, { recursive: true, force: true });
      } catch {
        /* best effort */
      }
    };
    process.on("exit", killOnExit);

    /** Stops the server process (keeps the temp dir). */
    let shutdownPromise: Promise<void> | undefined;
    const shutdown = (): Promise<void> =>
      (shutdownPromise ??= (async () => {
        if (!exited && !spawnError) {
          child.kill("SIGTERM");
          let timer: NodeJS.Timeout | undefined;
          const timedOut = await Promise.race([
            exitPromise.then(() => false),
            new Promise<boolean>((r) => (timer = setTimeout(() => r(true), STOP_TIMEOUT_MS))),
          ]);
          clearTimeout(timer);
          if (timedOut && !exited) {
            log(`server did not stop within ${STOP_TIMEOUT_MS / 1000}s, sending SIGKILL`);
            child.kill("SIGKILL");
            await exitPromise;
          }
        }
        process.removeListener("exit", killOnExit);
        try {
          watchdog?.kill("SIGKILL");
        } catch {
          /* already gone */
        }
      })());

    const fail = async (why: string): Promise<never> => {
      const tail = await tailFile(errorLog);
      await shutdown(); // the caller removes the temp dir (or retries in it)
      const out = output.length ? `\n--- server output ---\n${output.join("\n")}` : "";
      throw new Error(`throwaway MySQL server (${serverBin}) ${why}\n--- tail of ${errorLog} ---\n${tail}${out}`);
    };

    const tcp: ConnectionOptions = {
      host: "127.0.0.1",
      port,
      user: "root",
      password: "",
    };
    const deadline = started + READY_TIMEOUT_MS;
    let needsTcpRoot = false;
    for (;;) {
      if (spawnError) return fail(`could not be spawned: ${spawnError.message}`);
      if (exited) return fail(`exited during startup (code ${exited.code}, signal ${exited.signal})`);
      try {
        const c = await tryConnect(tcp);
        await c.end();
        break;
      } catch (err) {
        if (isAuthError(err)) {
          // Server is up but root@127.0.0.1 does not exist yet (MariaDB
          // install-db / MySQL --initialize-insecure only create root@localhost).
          needsTcpRoot = true;
          break;
        }
        if (Date.now() > deadline) {
          return fail(
            `did not accept connections within ${READY_TIMEOUT_MS / 1000}s (last error: ${(err as Error).message})`,
          );
        }
        await sleep(250);
      }
    }

    if (needsTcpRoot) {
      log("creating 'root'@'127.0.0.1' over the unix socket");
      try {
        const c = await tryConnect({
          socketPath: socket,
          user: "root",
          password: "",
        });
        try {
          await c.query("CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY ''");
          await c.query("GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION");
          await c.query("FLUSH PRIVILEGES");
        } finally {
          await c.end();
        }
        const check = await tryConnect(tcp);
        await check.end();
      } catch (err) {
        return fail(`is up, but root could not be enabled over TCP: ${(err as Error).message}`);
      }
    }

    log(`ready on 127.0.0.1:${port} after ${Date.now() - started} ms`);
    return {
      url: `mysql://root@127.0.0.1:${port}/`,
      port,
      pid: child.pid!,
      running: () => !exited && !spawnError,
      shutdown,
    };
  }
}

/**
 * Creates a uniquely named utf8mb4 database on the server named by `serverUrl`
 * (any database in its path is ignored) and returns its URL plus a `drop()`.
 */
export async function createTestDatabase(
  serverUrl: string,
  name: string = `tg_test_${randomBytes(6).toString("hex")}`,
): Promise<{ url: string; drop(): Promise<void> }> {
  if (!/^[A-Za-z0-9_]{1,64}$/.test(name)) throw new Error(`invalid test database name: ${name}`);
  const server = new URL(serverUrl);
  server.pathname = "/";
  const dbUrl = new URL(server.href);
  dbUrl.pathname = `/${name}`;

  const admin = () => createConnection({ uri: server.href, connectTimeout: 10_000 });
  const c = await admin();
  try {
    await c.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  } finally {
    await c.end();
  }

  let dropped = false;
  return {
    url: dbUrl.href,
    async drop() {
      if (dropped) return;
      dropped = true;
      const d = await admin();
      try {
        await d.query(`DROP DATABASE IF EXISTS \`${name}\``);
      } finally {
        await d.end();
      }
    },
  };
}
