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
 * already stored: one GROUP BY per field over every event, so on a large store this takes
 * a while (stop ingests first: an older writer would not add to the rollup). `''` stands for
 * null in `account_id` and `value`. The CREATE TABLE is `migration:generate`'s, trimmed of
 * the no-op changes it also proposes on MariaDB (JSON columns, NULL defaults).
 */
export class EventDailyCounts1795262475312 implements MigrationInterface {
  name = "EventDailyCounts1795262475312";

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE TABLE \`event_daily_counts\` (\`account_id\` varchar(64) NOT NULL, \`field\` varchar(32) NOT NULL, \`day\` date NOT NULL, \`value\` varchar(128) NOT NULL, \`n\` int NOT NULL, INDEX \`ix_event_daily_counts_field_day\` (\`field\`, \`day\`), PRIMARY KEY (\`account_id\`, \`field\`, \`day\`, \`value\`)) ENGINE=InnoDB`);
    for (const [field, column] of FIELDS) {
      await queryRunner.query(
        `INSERT INTO \`event_daily_counts\` (\`account_id\`, \`field\`, \`day\`, \`value\`, \`n\`) ` +
          `SELECT COALESCE(\`account_id\`, ''), '${field}', DATE(\`event_time\`), COALESCE(\`${column}\`, ''), COUNT(*) ` +
          `FROM \`events\` GROUP BY \`account_id\`, DATE(\`event_time\`), \`${column}\``,
      );
    }
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX \`ix_event_daily_counts_field_day\` ON \`event_daily_counts\``);
    await queryRunner.query(`DROP TABLE \`event_daily_counts\``);
  }
}
