import { createConnection, type Connection, type RowDataPacket } from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createTestDatabase } from "./support/mysql-server";

const serverUrl = inject("mysqlUrl");
const title = serverUrl
  ? "MySQL test server"
  : "MySQL test server [SKIPPED: no server; install mariadb-server or set MYSQL_URL]";

describe.skipIf(!serverUrl)(title, () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let conn: Connection;

  beforeAll(async () => {
    db = await createTestDatabase(serverUrl!);
    conn = await createConnection({ uri: db.url });
  });

  afterAll(async () => {
    await conn?.end();
    await db?.drop();
  });

  it("creates a uniquely named utf8mb4 database", async () => {
    const name = new URL(db.url).pathname.slice(1);
    expect(name).toMatch(/^tg_test_[0-9a-f]{12}$/);
    const [rows] = await conn.query<RowDataPacket[]>(
      "SELECT DATABASE() AS db, @@character_set_database AS cs, @@collation_database AS coll",
    );
    expect(rows[0]).toEqual({
      db: name,
      cs: "utf8mb4",
      coll: "utf8mb4_unicode_ci",
    });
  });

  it("answers SELECT VERSION()", async () => {
    const [rows] = await conn.query<RowDataPacket[]>("SELECT VERSION() AS v");
    expect(String(rows[0].v)).toMatch(/^\d+\.\d+\.\d+/);
  });

  it("round-trips rows through CREATE TABLE / INSERT / SELECT", async () => {
    await conn.query(
      "CREATE TABLE roundtrip (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(64) NOT NULL, at DATETIME(3) NOT NULL)",
    );
    await conn.execute("INSERT INTO roundtrip (name, at) VALUES (?, ?), (?, ?)", [
      "ConsoleSignin",
      "2024-05-01 12:34:56.789",
      "CreateInstance ✓ 🚀",
      "2024-05-02 00:00:00.000",
    ]);
    const [rows] = await conn.query<RowDataPacket[]>(
      "SELECT id, name, DATE_FORMAT(at, '%Y-%m-%d %H:%i:%s.%f') AS at FROM roundtrip ORDER BY id",
    );
    expect(rows.map((r) => ({ ...r }))).toEqual([
      { id: 1, name: "ConsoleSignin", at: "2024-05-01 12:34:56.789000" },
      { id: 2, name: "CreateInstance ✓ 🚀", at: "2024-05-02 00:00:00.000000" },
    ]);
  });

  it("drop() removes the database", async () => {
    const other = await createTestDatabase(serverUrl!);
    const name = new URL(other.url).pathname.slice(1);
    await other.drop();
    const [rows] = await conn.query<RowDataPacket[]>(
      "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
      [name],
    );
    expect(rows).toHaveLength(0);
  });
});
