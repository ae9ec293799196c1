import { MigrationInterface, QueryRunner } from "typeorm";

/** The rollup's fields with their events column, as this migration backfills them. */
const FIELDS = [
  ["EVENT_NAME", "event_name"],
  ["EVENT_TYPE", "event_type"],
  ["EVENT_RW", "event_rw"],
  ["SERVICE_NAME", "service_name"],
  ["EVENT_SOURCE", "event_source"],
  ["REGION", "acs_region"],
  ["ACCOUNT_ID", "account_id"],
  ["SOURCE_IP_ADDRESS", "source_ip_address"],
  ["ERROR_CODE", "error_code"],
];

/**
 * The daily rollup of `eventCounts` (src/db/daily-counts.ts), backfilled from the events
 * already stored: one GROUP BY per field over every event. `''` stands for null in
 * `account_id` and `value`; `day` is the `YYYY-MM-DD` text of the UTC day (event_time holds
 * UTC as `YYYY-MM-DD HH:MM:SS.SSS`). Written by hand, as IngestBookkeeping.
 */
export class EventDailyCounts1795262477491 implements MigrationInterface {
  name = "EventDailyCounts1795262477491";

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "event_daily_counts" ("account_id" varchar(64) NOT NULL, "field" varchar(32) NOT NULL, "day" date NOT NULL, "value" varchar(128) NOT NULL, "n" integer NOT NULL, PRIMARY KEY ("account_id", "field", "day", "value"))`,
    );
    await queryRunner.query(`CREATE INDEX "ix_event_daily_counts_field_day" ON "event_daily_counts" ("field", "day") `);
    for (const [field, column] of FIELDS) {
      await queryRunner.query(
        `INSERT INTO "event_daily_counts" ("account_id", "field", "day", "value", "n") ` +
          `SELECT COALESCE("account_id", ''), '${field}', substr("event_time", 1, 10), COALESCE("${column}", ''), COUNT(*) ` +
          `FROM "events" GROUP BY "account_id", substr("event_time", 1, 10), "${column}"`,
      );
    }
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "ix_event_daily_counts_field_day"`);
    await queryRunner.query(`DROP TABLE "event_daily_counts"`);
  }
}
