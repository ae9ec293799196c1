import { MigrationInterface, QueryRunner } from "typeorm";
import { OWN_TIMES_DESCRIPTION, recomputeOwnTimes } from "../own-times";

/**
 * As the MySQL migration OwnTimes: `accounts.first_seen_at` becomes nullable (SQLite rebuilds
 * the table for that) and is recomputed with orders' owners (src/migrations/own-times.ts).
 */
export class OwnTimes1795310000001 implements MigrationInterface {
  name = "OwnTimes1795310000001";

  description = OWN_TIMES_DESCRIPTION;

  public async up(queryRunner: QueryRunner): Promise<void> {
    await rebuildAccounts(queryRunner, "NULL");
    await recomputeOwnTimes(queryRunner);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `UPDATE "accounts" SET "first_seen_at" = COALESCE("first_seen_at", (SELECT MIN(e.event_time) FROM events e ` +
        `JOIN identities i ON i.pk = e.identity_pk WHERE i.account_id = accounts.account_id), strftime('%Y-%m-%d %H:%M:%f', 'now'))`,
    );
    await rebuildAccounts(queryRunner, "NOT NULL");
  }
}

async function rebuildAccounts(queryRunner: QueryRunner, nullable: "NULL" | "NOT NULL"): Promise<void> {
  await queryRunner.query(
    `CREATE TABLE "temporary_accounts" ("account_id" varchar(64) PRIMARY KEY NOT NULL, "first_seen_at" datetime(3) ${nullable})`,
  );
  await queryRunner.query(
    `INSERT INTO "temporary_accounts" ("account_id", "first_seen_at") SELECT "account_id", "first_seen_at" FROM "accounts"`,
  );
  await queryRunner.query(`DROP TABLE "accounts"`);
  await queryRunner.query(`ALTER TABLE "temporary_accounts" RENAME TO "accounts"`);
}
