import type { QueryRunner } from "typeorm";

/**
 * The data part of the OwnTimes migrations (both stores): times and owners recomputed from the
 * stored events by the rules the writer now applies.
 * - An account's `first_seen_at`: its own earliest event, null without one.
 * - An order's `account_id` and `created_at`: those of its purchase event, else of its earliest
 *   mention with an account (ties by account ID), else of its earliest mention.
 */
export async function recomputeOwnTimes(queryRunner: QueryRunner): Promise<void> {
  await queryRunner.query(
    `UPDATE accounts SET first_seen_at = (SELECT MIN(e.event_time) FROM events e WHERE e.account_id = accounts.account_id)`,
  );
  const purchase = (column: string) => `(SELECT e.${column} FROM events e WHERE e.pk = orders.purchase_event_pk)`;
  await queryRunner.query(
    `UPDATE orders SET account_id = ${purchase("account_id")}, created_at = ${purchase("event_time")} ` +
      `WHERE purchase_event_pk IS NOT NULL AND EXISTS (SELECT 1 FROM events e WHERE e.pk = orders.purchase_event_pk)`,
  );
  const first = (column: string) =>
    `(SELECT e.${column} FROM event_orders eo JOIN events e ON e.pk = eo.event_pk WHERE eo.order_id = orders.order_id ` +
    `ORDER BY CASE WHEN e.account_id IS NULL THEN 1 ELSE 0 END, e.event_time, e.account_id LIMIT 1)`;
  await queryRunner.query(
    `UPDATE orders SET account_id = ${first("account_id")}, created_at = ${first("event_time")} ` +
      `WHERE purchase_event_pk IS NULL AND EXISTS (SELECT 1 FROM event_orders eo WHERE eo.order_id = orders.order_id)`,
  );
}

export const OWN_TIMES_DESCRIPTION =
  "an account's firstSeenAt is its own earliest event (null when other accounts' events only name it), " +
  "an order's account and createdAt those of its purchase event, else of its earliest mention; both recomputed";
