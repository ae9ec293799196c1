import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { getMetadataArgsStorage } from "typeorm";
import { describe, expect, it } from "vitest";
import { TENANCY, TenantScope } from "../../src/db/scope";
import { ENTITIES } from "../../src/entities";

/**
 * The tenant scope is structural: the read side names a table only through `TenantScope`
 * (`table`, `leftJoin`, `narrowing`), which takes the restriction from `TENANCY`. These
 * checks keep it so: every table of the schema has a TENANCY entry, and no SQL of the read
 * side names a table directly. (What the restrictions do is test/graph/scope-walk.spec.ts.)
 */
describe("tenancy of the read side", () => {
  it("names every table of the schema", () => {
    const tables = getMetadataArgsStorage()
      .tables.filter((table) => (ENTITIES as readonly unknown[]).includes(table.target))
      .map((table) => table.name!);
    expect(tables.length).toBe(ENTITIES.length);
    const unnamed = tables.filter((name) => !(name in TENANCY));
    expect(unnamed, "tables without a TENANCY entry in src/db/scope.ts").toEqual([]);
  });

  it("reads no table except through the scope", () => {
    const files = [
      "src/db/store.ts",
      "src/db/lists.ts",
      "src/context.ts",
      ...readdirSync("src/resolvers").map((name) => join("src/resolvers", name)),
    ].filter((file) => file.endsWith(".ts") && !file.endsWith(".spec.ts"));
    const direct: string[] = [];
    for (const file of files) {
      readFileSync(file, "utf8")
        .split("\n")
        .forEach((line, index) => {
          const code = line.trim();
          if (code.startsWith("*") || code.startsWith("/*") || code.startsWith("//")) return;
          for (const match of code.matchAll(/\b(?:FROM|JOIN)\s+([a-z_]+)\b/g)) {
            direct.push(`${file}:${index + 1}: ${match[0]}`);
          }
        });
    }
    expect(direct, "SQL that names a table without TenantScope").toEqual([]);
  });

  it("restricts each kind of table as its entry says", () => {
    const scope = TenantScope.accounts(["1001"]);
    expect(scope.table("events", "e").where).toEqual([{ text: "e.account_id IN (?)", params: ["1001"] }]);
    expect(scope.table("event_payloads", "p").where).toEqual([]);
    expect(scope.table("ingest_rejects", "j").where).toEqual([{ text: "1 = 0", params: [] }]);
    expect(TenantScope.accounts([]).table("orders", "o").where).toEqual([{ text: "1 = 0", params: [] }]);
    expect(scope.leftJoin("identities", "ui", "ui.pk = e.identity_pk")).toEqual({
      text: "LEFT JOIN identities ui ON (ui.pk = e.identity_pk) AND (ui.account_id IN (?))",
      params: ["1001"],
    });
    for (const name of Object.keys(TENANCY) as Array<keyof typeof TENANCY>) {
      expect(TenantScope.all().table(name, "t").where).toEqual([]);
    }
  });
});
