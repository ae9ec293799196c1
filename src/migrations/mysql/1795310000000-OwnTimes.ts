import { MigrationInterface, QueryRunner } from "typeorm";
import { OWN_TIMES_DESCRIPTION, recomputeOwnTimes } from "../own-times";

/**
 * Nothing of one account's events shows through another's objects: `accounts.first_seen_at`
 * becomes nullable and is recomputed from each account's own events, and orders take their
 * account and time from one mention (src/migrations/own-times.ts). `down` makes the column
 * NOT NULL again, filling nulls with the earliest event of an identity of
 * the account (or the current time).
 */
export class OwnTimes1795310000000 implements MigrationInterface {
  name = "OwnTimes1795310000000";

  description = OWN_TIMES_DESCRIPTION;

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query("ALTER TABLE accounts MODIFY first_seen_at DATETIME(3) NULL");
    await recomputeOwnTimes(queryRunner);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      "UPDATE accounts a SET first_seen_at = COALESCE(first_seen_at, (SELECT MIN(e.event_time) FROM events e " +
        "JOIN identities i ON i.pk = e.identity_pk WHERE i.account_id = a.account_id), UTC_TIMESTAMP(3))",
    );
    await queryRunner.query("ALTER TABLE accounts MODIFY first_seen_at DATETIME(3) NOT NULL");
  }
}
