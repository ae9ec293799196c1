import { MigrationInterface, QueryRunner } from "typeorm";

/** The spans this migration backfills (src/db/daily-counts.ts PERIOD_SPANS when it shipped). */
const SPANS = [64, 8];

/**
 * The period rollup of `eventCounts` (src/db/daily-counts.ts): the daily rollup's counts
 * summed per period of 8 and of 64 days, a period starting on a day number (days since
 * 1970-01-01) divisible by its span; `start_day` is `YYYY-MM-DD` text, as `day` is.
 * Backfilled from `event_daily_counts`, one GROUP BY per span. Written by hand, as
 * EventDailyCounts.
 */
export class EventPeriodCounts1795280313250 implements MigrationInterface {
  name = "EventPeriodCounts1795280313250";

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "event_period_counts" ("account_id" varchar(64) NOT NULL, "field" varchar(32) NOT NULL, "span" smallint NOT NULL, "start_day" date NOT NULL, "value" varchar(128) NOT NULL, "n" bigint NOT NULL, PRIMARY KEY ("account_id", "field", "span", "start_day", "value"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "ix_event_period_counts_field_span_start" ON "event_period_counts" ("field", "span", "start_day") `,
    );
    for (const span of SPANS) {
      // The day number: julianday of a UTC midnight less that of 1970-01-01, a whole number.
      const start = `date((CAST(julianday("day") - 2440587.5 AS INTEGER) / ${span}) * ${span} * 86400, 'unixepoch')`;
      await queryRunner.query(
        `INSERT INTO "event_period_counts" ("account_id", "field", "span", "start_day", "value", "n") ` +
          `SELECT "account_id", "field", ${span}, ${start}, "value", SUM("n") ` +
          `FROM "event_daily_counts" GROUP BY "account_id", "field", ${start}, "value"`,
      );
    }
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "ix_event_period_counts_field_span_start"`);
    await queryRunner.query(`DROP TABLE "event_period_counts"`);
  }
}
