import type { ValueTransformer } from "typeorm";

/**
 * Column helpers shared by the entities.
 *
 * BIGINT comes back from mysql2 as a string; surrogate keys stay far below 2^53, so they
 * are carried as numbers everywhere in the application.
 */
export const bigintNumber: ValueTransformer = {
  to: (value: number | null | undefined) => value,
  from: (value: string | number | null) => (value === null ? null : Number(value)),
};

/** Length limits, shared by the entities, the normaliser and the migrations. */
export const LIMITS = {
  eventId: 128,
  accountId: 64,
  name: 128,
  shortText: 64,
  resourceType: 128,
  resourceId: 255,
  orderId: 64,
  principal: 255,
  identityKey: 64,
} as const;
