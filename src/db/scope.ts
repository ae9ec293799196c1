import { inList, type Sql } from "./sql";

/**
 * Which accounts a request may see. Every query of the read side passes through
 * `Store`, which adds `scope.restrict(column)` to it; this is the one place a tenant
 * restriction takes effect.
 */
export class TenantScope {
  private constructor(readonly accountIds: ReadonlySet<string> | null) {}

  /** Every account: the default, until authentication fills scopes in. */
  static all(): TenantScope {
    return new TenantScope(null);
  }

  static accounts(accountIds: Iterable<string>): TenantScope {
    return new TenantScope(new Set(accountIds));
  }

  get unrestricted(): boolean {
    return this.accountIds === null;
  }

  /** A condition on an account column; none when unrestricted. */
  restrict(column: string): Sql[] {
    if (this.accountIds === null) return [];
    if (this.accountIds.size === 0) return [{ text: "1 = 0", params: [] }];
    return [inList(column, [...this.accountIds])];
  }

  allows(accountId: string | null): boolean {
    return this.accountIds === null || (accountId !== null && this.accountIds.has(accountId));
  }
}
