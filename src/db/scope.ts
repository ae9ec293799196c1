import { and, inList, sql, type Sql } from "./sql";

/**
 * How each table the read side reads belongs to an account. A table is named here or it
 * cannot be read: `Store` builds every FROM and JOIN through `TenantScope.table`, which
 * takes the restriction from this entry, so a new list or lookup gets the scope by being
 * written at all (test/graph/tenancy.spec.ts checks that every table of the schema is named).
 *
 * - `column`: the table's rows belong to the account in that column; a restricted caller
 *   reads only rows of its accounts (rows of no account only when unrestricted).
 * - `through`: the table's rows belong to the rows of another table and are read only by
 *   the keys of rows already read within the scope (a payload by its event's key, an
 *   order's items by its order's key) or joined to them; they carry no restriction of their own.
 * - `unrestrictedOnly`: rows of no particular account (rejected records may hold any
 *   account's text): only a caller allowed every account reads them.
 */
export const TENANCY = {
  accounts: { column: "account_id" },
  events: { column: "account_id" },
  identities: { column: "account_id" },
  resources: { column: "account_id" },
  orders: { column: "account_id" },
  event_daily_counts: { column: "account_id" },
  event_period_counts: { column: "account_id" },
  event_payloads: { through: "events" },
  event_resources: { through: "events" },
  event_orders: { through: "events" },
  order_items: { through: "orders" },
  ingest_rejects: { unrestrictedOnly: true },
  ingested_files: { unrestrictedOnly: true },
} as const satisfies Record<string, Tenancy>;

export type Tenancy = { column: string } | { through: string } | { unrestrictedOnly: true };

export type TableName = keyof typeof TENANCY;

/** Only this module makes a ScopedTable: no code elsewhere can write one without its conditions. */
const SCOPED: unique symbol = Symbol("scoped");

/** A table reference (`events e`) and the conditions that keep it within the scope. */
export interface ScopedTable {
  readonly [SCOPED]: true;
  text: string;
  alias: string;
  where: Sql[];
}

/**
 * Which accounts a request may see, and the only source of tenant restrictions: every table
 * the Store reads comes from `table()` (or `leftJoin()`), with the condition its `TENANCY`
 * entry calls for.
 */
export class TenantScope {
  private constructor(readonly accountIds: ReadonlySet<string> | null) {}

  /** Every account: open mode, or a credential that grants all accounts. */
  static all(): TenantScope {
    return new TenantScope(null);
  }

  static accounts(accountIds: Iterable<string>): TenantScope {
    return new TenantScope(new Set(accountIds));
  }

  get unrestricted(): boolean {
    return this.accountIds === null;
  }

  allows(accountId: string | null): boolean {
    return this.accountIds === null || (accountId !== null && this.accountIds.has(accountId));
  }

  /** `name alias`, with the conditions that keep its rows within the scope (for WHERE). */
  table(name: TableName, alias: string): ScopedTable {
    return { [SCOPED]: true, text: `${name} ${alias}`, alias, where: this.conditions(name, alias) };
  }

  /**
   * `LEFT JOIN name alias ON on`, the scope's conditions in the ON clause, so that a row out of
   * scope joins as null (absent) instead of removing the row it hangs from.
   */
  leftJoin(name: TableName, alias: string, on: string): Sql {
    const condition = and([sql(on), ...this.conditions(name, alias)]);
    return { text: `LEFT JOIN ${name} ${alias} ON ${condition.text}`, params: condition.params };
  }

  /**
   * `name alias` inside a subquery that only narrows a table read within the scope
   * (`e.pk IN (SELECT … FROM narrowing(…))`): it returns none of its own rows, so it reads
   * without the scope, and an event in scope made by an identity of another account still
   * matches a filter on that identity.
   */
  narrowing(name: TableName, alias: string): string {
    return `${name} ${alias}`;
  }

  /** The conditions that keep `alias` (a reference to table `name`) within the scope. */
  private conditions(name: TableName, alias: string): Sql[] {
    const tenancy: Tenancy = TENANCY[name];
    if (this.accountIds === null || "through" in tenancy) return [];
    if ("unrestrictedOnly" in tenancy || this.accountIds.size === 0) return [sql("1 = 0")];
    return [inList(`${alias}.${tenancy.column}`, [...this.accountIds])];
  }
}

/** `first JOIN second ON on`: an inner join keeps both tables' scope conditions (in WHERE). */
export function innerJoin(first: ScopedTable, second: ScopedTable, on: string): ScopedTable {
  return {
    [SCOPED]: true,
    text: `${first.text} JOIN ${second.text} ON ${on}`,
    alias: first.alias,
    where: [...first.where, ...second.where],
  };
}
