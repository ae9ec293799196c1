import { MigrationInterface, QueryRunner } from "typeorm";

/** Every table of the store when this migration shipped. */
const TABLES = [
  "accounts",
  "events",
  "event_resources",
  "event_orders",
  "event_payloads",
  "orders",
  "order_items",
  "resources",
  "identities",
  "ingested_files",
  "ingest_rejects",
  "event_daily_counts",
  "event_period_counts",
];

/**
 * Exact collations, best first: byte for byte, trailing spaces significant (NO PAD). MariaDB
 * names it utf8mb4_nopad_bin, MySQL 8 utf8mb4_0900_bin; utf8mb4_bin (PAD SPACE: trailing
 * spaces ignored) only where neither exists.
 */
const EXACT = ["utf8mb4_nopad_bin", "utf8mb4_0900_bin", "utf8mb4_bin"];

/**
 * Makes every comparison exact and every stored value whole:
 * - every text column of every table (and the database's default, for tables added later)
 *   takes an exact binary collation. It was utf8mb4_unicode_ci, under which event IDs,
 *   account, principal, resource and order IDs that differ only in letter case, accents or
 *   trailing spaces were one key (the second event counted a duplicate and lost) and filters
 *   matched case- and accent-insensitively. Exact rows stay distinct, so no key can collide.
 * - `event_payloads.raw` and `order_items.article_config` become LONGTEXT (JSON text written
 *   by the application). MariaDB's JSON type checks `JSON_VALID`, which refuses valid JSON
 *   nested 32 levels or more and lone UTF-16 surrogate escapes, and `INSERT IGNORE` turned
 *   that refusal into a missing payload; MySQL's JSON type refuses depth 100 and rewrites the
 *   text.
 * - `events.error_message` (TEXT: cut at 65,535 bytes) and `events.user_agent` (cut at 1,024
 *   characters by the writer) become LONGTEXT, so that they answer their full value.
 * Every table is rebuilt: this takes time in proportion to the store's size; stop ingests
 * first. `down` restores the old types and collation, and fails where rows now differ only in
 * case, accents or trailing spaces (they would collide again).
 */
export class ExactText1795300000000 implements MigrationInterface {
  name = "ExactText1795300000000";

  description =
    "every text column compares byte for byte (was utf8mb4_unicode_ci: case, accents and trailing spaces ignored); " +
    "event_payloads.raw, order_items.article_config, events.error_message and events.user_agent become LONGTEXT " +
    "(whole values; no JSON_VALID check); every table is rebuilt";

  public async up(queryRunner: QueryRunner): Promise<void> {
    const collation = await exactCollation(queryRunner);
    const text = `LONGTEXT CHARACTER SET utf8mb4 COLLATE ${collation}`;
    await queryRunner.query(`ALTER DATABASE CHARACTER SET utf8mb4 COLLATE ${collation}`);
    await queryRunner.query(`ALTER TABLE event_payloads MODIFY raw ${text} NOT NULL`);
    await queryRunner.query(`ALTER TABLE order_items MODIFY article_config ${text} NULL`);
    await queryRunner.query(`ALTER TABLE events MODIFY error_message ${text} NULL, MODIFY user_agent ${text} NULL`);
    for (const table of TABLES) {
      await queryRunner.query(`ALTER TABLE ${table} CONVERT TO CHARACTER SET utf8mb4 COLLATE ${collation}`);
    }
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    const collation = "utf8mb4_unicode_ci";
    await queryRunner.query(`ALTER DATABASE CHARACTER SET utf8mb4 COLLATE ${collation}`);
    for (const table of TABLES) {
      await queryRunner.query(`ALTER TABLE ${table} CONVERT TO CHARACTER SET utf8mb4 COLLATE ${collation}`);
    }
    await queryRunner.query(`ALTER TABLE events MODIFY error_message TEXT NULL, MODIFY user_agent VARCHAR(1024) NULL`);
    await queryRunner.query(`ALTER TABLE order_items MODIFY article_config JSON NULL`);
    await queryRunner.query(`ALTER TABLE event_payloads MODIFY raw JSON NOT NULL`);
  }
}

/** The first of EXACT the server has. */
export async function exactCollation(queryRunner: Pick<QueryRunner, "query">): Promise<string> {
  const rows: Array<{ name: string }> = await queryRunner.query(
    `SELECT COLLATION_NAME AS name FROM information_schema.COLLATIONS WHERE COLLATION_NAME IN (${EXACT.map(() => "?").join(", ")})`,
    EXACT,
  );
  const found = new Set(rows.map((row) => row.name));
  const collation = EXACT.find((name) => found.has(name));
  if (collation === undefined) throw new Error(`the server has none of the collations ${EXACT.join(", ")}`);
  return collation;
}
