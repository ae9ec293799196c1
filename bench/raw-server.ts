/**
 * The limit server: node:http plus a mysql2 pool of TrailGraph's size, answering the four
 * benchmark operations with the statements TrailGraph sends (bench/raw-sql.ts). It reads the
 * same POST bodies (`{operationName, query, variables}`), picks the operation by its name and
 * writes the same JSON (with the same `extensions.cost`: each operation's cost is a constant of
 * bench/operations.ts, the limit TRAILGRAPH_MAX_COST as TrailGraph reads it).
 *
 *   RAW_DATABASE_URL=mysql://... [TRAILGRAPH_DB_POOL=10] [TRAILGRAPH_DB_STATEMENTS=100] [RAW_WORKERS=1] [PORT=0] \
 *     node --import tsx bench/raw-server.ts
 *
 * With RAW_WORKERS=N (N > 1) it serves from N node:cluster workers on one socket, each with
 * its own pool, supervised as `trailgraph serve --workers N` supervises its own
 * (src/server/workers.ts). Prints `listening <port>` on stdout when every worker listens.
 * Stops on SIGTERM/SIGINT.
 */
import cluster from "node:cluster";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createPool } from "mysql2/promise";
import { costLimitSettings } from "../src/server/cost-limits";
import { runWorkers, workerCount } from "../src/server/workers";
import { operation } from "./operations";
import { OPERATION_KEYS, runRaw, type Row } from "./raw-sql";

const url = process.env.RAW_DATABASE_URL ?? "";
if (!url) throw new Error("RAW_DATABASE_URL is not set");
const workers = workerCount(process.env.RAW_WORKERS, "RAW_WORKERS");
// The primary supervises its workers as `trailgraph serve --workers N`'s does.
if (workers > 1 && cluster.isPrimary) {
  runWorkers({
    count: workers,
    log: (message) => process.stderr.write(`[raw-server] ${message}\n`),
    ready: (port) => process.stdout.write(`listening ${port}\n`),
  }).then((code) => process.exit(code));
} else {
  serve();
}

function serve(): void {
  /** The cost limit TrailGraph's answers report (it serves the benchmark without a per-client budget). */
  const limit = costLimitSettings({ TRAILGRAPH_MAX_COST: process.env.TRAILGRAPH_MAX_COST }).maxCost;
  /** Prepared statements per connection, as TrailGraph keeps them (0: unprepared, as TrailGraph then). */
  const statementCache = Number(process.env.TRAILGRAPH_DB_STATEMENTS || 100);

  /** The options TrailGraph's TypeORM DataSource passes to mysql2 (src/db/datasource.ts). */
  const pool = createPool({
    uri: url.replace(/^mariadb:/, "mysql:"),
    connectionLimit: Number(process.env.TRAILGRAPH_DB_POOL ?? 10),
    timezone: "Z",
    charset: "utf8mb4_bin",
    supportBigNumbers: true,
    bigNumberStrings: false,
    stringifyObjects: true,
    ...(statementCache > 0 ? { maxPreparedStatements: statementCache } : {}),
  });

  const query = async (sql: string, params: unknown[]): Promise<Row[]> => {
    // Prepared, as TrailGraph's reads are (src/db/reader.ts).
    const [rows] = statementCache > 0 ? await pool.execute(sql, params as never) : await pool.query(sql, params);
    return rows as Row[];
  };

  function send(res: ServerResponse, status: number, body: string): void {
    res.writeHead(status, {
      "content-type": "application/json; charset=utf-8",
      "content-length": Buffer.byteLength(body),
    });
    res.end(body);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== "POST") return send(res, 405, '{"errors":[{"message":"POST only"}]}');
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    let body: { operationName?: string; variables?: Record<string, string> };
    try {
      body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch {
      return send(res, 400, '{"errors":[{"message":"body is not JSON"}]}');
    }
    const key = OPERATION_KEYS[body.operationName ?? ""];
    if (!key)
      return send(res, 400, JSON.stringify({ errors: [{ message: `unknown operation ${body.operationName}` }] }));
    try {
      const data = await runRaw(key, body.variables ?? {}, query);
      send(res, 200, JSON.stringify({ data, extensions: { cost: { requested: operation(key).cost, limit } } }));
    } catch (error) {
      send(res, 200, JSON.stringify({ errors: [{ message: (error as Error).message }], data: null }));
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) =>
      send(res, 500, JSON.stringify({ errors: [{ message: String(error) }] })),
    );
  });
  server.keepAliveTimeout = 60_000;

  const stop = () => {
    server.close();
    server.closeAllConnections();
    pool.end().finally(() => process.exit(0));
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);

  server.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
    if (cluster.isWorker) return; // the primary says it once all listen
    const address = server.address();
    process.stdout.write(`listening ${typeof address === "object" && address ? address.port : 0}\n`);
  });
}
