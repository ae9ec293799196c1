/**
 * Catalog of the Expenses and Costs OpenAPI operations that ActionTrail records.
 *
 * The data file is generated from the documentation page by scripts/build-catalog.ts
 * (`npm run catalog -- <seed.txt>`); do not edit it by hand. Access (READ / WRITE) is
 * derived by a naming rule in that script, not taken from the events themselves.
 */
import catalog from "./expenses-and-costs.json";

export type EventAccess = "READ" | "WRITE";

export interface EventDefinitionEntry {
  eventName: string;
  description: string;
  access: EventAccess;
}

function freezeEntries(raw: readonly { eventName: string; description: string; access: string }[]) {
  return Object.freeze(
    raw.map((entry): EventDefinitionEntry => {
      if (entry.access !== "READ" && entry.access !== "WRITE") {
        throw new Error(`catalog: invalid access "${entry.access}" for ${entry.eventName}`);
      }
      return Object.freeze({
        eventName: entry.eventName,
        description: entry.description,
        access: entry.access,
      });
    }),
  );
}

/** Every catalogued operation, in the documentation's order. */
export const EVENT_CATALOG: readonly EventDefinitionEntry[] = freezeEntries(catalog);

const BY_NAME: ReadonlyMap<string, EventDefinitionEntry> = new Map(
  EVENT_CATALOG.map((entry) => [entry.eventName, entry] as const),
);

/**
 * The catalog entry for an event name (exact, case-sensitive match, as ActionTrail
 * reports eventName), or undefined for events outside the Expenses and Costs catalog
 * (console purchases such as `Create`, ECS or RAM calls, sign-ins...).
 */
export function findEventDefinition(eventName: string): EventDefinitionEntry | undefined {
  return BY_NAME.get(eventName);
}
