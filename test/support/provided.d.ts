import "vitest";

declare module "vitest" {
  export interface ProvidedContext {
    /**
     * `mysql://…/` URL of a MySQL-compatible server (no database selected) that
     * tests may create their own databases in, or null when none is available.
     * Set by test/global-setup.ts.
     */
    mysqlUrl: string | null;
  }
}
