import { MigrationInterface, QueryRunner } from "typeorm";

/**
 * The two ingest bookkeeping tables. Written by hand: `migration:generate` also proposes
 * rebuilding every table, because SQLite's surrogate keys are `integer` (see Initial).
 */
export class IngestBookkeeping1795252377753 implements MigrationInterface {
  name = "IngestBookkeeping1795252377753";

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "ingested_files" ("path_key" varchar(64) PRIMARY KEY NOT NULL, "path" text NOT NULL, "size" bigint NOT NULL, "md5" varchar(32) NOT NULL, "records" integer NOT NULL, "completed_at" datetime(3) NOT NULL)`,
    );
    await queryRunner.query(
      `CREATE TABLE "ingest_rejects" ("pk" integer PRIMARY KEY AUTOINCREMENT NOT NULL, "reject_key" varchar(64) NOT NULL, "rejected_at" datetime(3) NOT NULL, "source" varchar(1024) NOT NULL, "position" varchar(255) NOT NULL, "byte_offset" bigint, "reason" text NOT NULL, "text" text)`,
    );
    await queryRunner.query(`CREATE INDEX "ix_ingest_rejects_time" ON "ingest_rejects" ("rejected_at", "pk") `);
    await queryRunner.query(`CREATE UNIQUE INDEX "uq_ingest_rejects_key" ON "ingest_rejects" ("reject_key") `);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "uq_ingest_rejects_key"`);
    await queryRunner.query(`DROP INDEX "ix_ingest_rejects_time"`);
    await queryRunner.query(`DROP TABLE "ingest_rejects"`);
    await queryRunner.query(`DROP TABLE "ingested_files"`);
  }
}
