import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { buildTrailGraphSchema } from "../src/schema/build";
import { printSchemaFile, SCHEMA_FILE } from "../src/schema/print";
import { isObjectType, isInputObjectType, isInterfaceType, isEnumType } from "graphql";

describe("schema.graphql", () => {
  it("is up to date with the code (run `npm run schema`)", async () => {
    const printed = printSchemaFile(await buildTrailGraphSchema());
    expect(readFileSync(SCHEMA_FILE, "utf8")).toBe(printed);
  });

  it("describes every type, field, argument and enum value", async () => {
    const schema = await buildTrailGraphSchema();
    const missing: string[] = [];
    for (const type of Object.values(schema.getTypeMap())) {
      if (type.name.startsWith("__")) continue;
      if (!type.description) missing.push(type.name);
      if (isObjectType(type) || isInterfaceType(type) || isInputObjectType(type)) {
        for (const field of Object.values(type.getFields())) {
          if (!field.description) missing.push(`${type.name}.${field.name}`);
          for (const arg of "args" in field ? field.args : []) {
            if (!arg.description) missing.push(`${type.name}.${field.name}(${arg.name})`);
          }
        }
      }
      if (isEnumType(type)) {
        for (const value of type.getValues()) if (!value.description) missing.push(`${type.name}.${value.name}`);
      }
    }
    expect(missing).toEqual([]);
  });
});
