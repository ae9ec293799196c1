import { MigrationInterface, QueryRunner } from "typeorm";

/** The spans this migration backfills (src/db/daily-counts.ts PERIOD_SPANS when it shipped). */
const SPANS = [64, 8];

/**
 * The period rollup of `eventCounts` (src/db/daily-counts.ts): the daily rollup's counts
 * summed per period of 8 and of 64 days, a period starting on a day number (days since
 * 1970-01-01) divisible by its span. Backfilled from `event_daily_counts` (one GROUP BY per
 * span; stop ingests first: an older writer would not add to it). The CREATE TABLE is
 * `migration:generate`'s, trimmed of the no-op changes it also proposes on MariaDB.
 */
export class EventPeriodCounts1795280313249 implements MigrationInterface {
  name = "EventPeriodCounts1795280313249";

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE TABLE \`event_period_counts\` (\`account_id\` varchar(64) NOT NULL, \`field\` varchar(32) NOT NULL, \`span\` smallint NOT NULL, \`start_day\` date NOT NULL, \`value\` varchar(128) NOT NULL, \`n\` bigint NOT NULL, INDEX \`ix_event_period_counts_field_span_start\` (\`field\`, \`span\`, \`start_day\`), PRIMARY KEY (\`account_id\`, \`field\`, \`span\`, \`start_day\`, \`value\`)) ENGINE=InnoDB`);
    for (const span of SPANS) {
      const start = `DATE_ADD('1970-01-01', INTERVAL FLOOR(DATEDIFF(\`day\`, '1970-01-01') / ${span}) * ${span} DAY)`;
      await queryRunner.query(
        `INSERT INTO \`event_period_counts\` (\`account_id\`, \`field\`, \`span\`, \`start_day\`, \`value\`, \`n\`) ` +
          `SELECT \`account_id\`, \`field\`, ${span}, ${start}, \`value\`, SUM(\`n\`) ` +
          `FROM \`event_daily_counts\` GROUP BY \`account_id\`, \`field\`, ${start}, \`value\``,
      );
    }
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX \`ix_event_period_counts_field_span_start\` ON \`event_period_counts\``);
    await queryRunner.query(`DROP TABLE \`event_period_counts\``);
  }
}
