import { inject } from "vitest";

export type StoreKind = "sqlite" | "mysql";

/** For `describe.each(storesUnderTest())` + `describe.skipIf(!available)`. */
export function storesUnderTest(): { kind: StoreKind; available: boolean }[] {
  return [
    { kind: "sqlite", available: true },
    { kind: "mysql", available: inject("mysqlUrl") != null },
  ];
}
