import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { buildSchema as buildTypeGraphqlSchema } from "type-graphql";
import { buildTrailGraphSchema, copyExtensions, RESOLVERS } from "../src/schema/build";
import { scalarsMap } from "../src/schema/scalars";
import { printSchemaFile, SCHEMA_FILE } from "../src/schema/print";
import { ENTITY_TYPES } from "../src/resolvers/entities";
import {
  buildSchema,
  isObjectType,
  isInputObjectType,
  isInterfaceType,
  isEnumType,
  parse,
  Kind,
  print,
  type GraphQLObjectType,
} from "graphql";

/** What the federation spec adds (`_service`, `_entities`, `_Any`, `link__Import`, ...): not TrailGraph's API. */
const isFederationName = (name: string) => name.startsWith("_") || name.includes("__");

describe("schema.graphql", () => {
  it("is up to date with the code (run `npm run schema`)", async () => {
    const printed = await printSchemaFile(await buildTrailGraphSchema());
    expect(readFileSync(SCHEMA_FILE, "utf8")).toBe(printed);
  });

  it("describes every type, field, argument and enum value", async () => {
    const schema = await buildTrailGraphSchema();
    const missing: string[] = [];
    for (const type of Object.values(schema.getTypeMap())) {
      if (isFederationName(type.name)) continue;
      if (!type.description) missing.push(type.name);
      if (isObjectType(type) || isInterfaceType(type) || isInputObjectType(type)) {
        for (const field of Object.values(type.getFields())) {
          if (isFederationName(field.name)) continue;
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

  it("is a Federation 2 subgraph whose entities are keyed as node(id:) and _entities resolve them", () => {
    const document = parse(readFileSync(SCHEMA_FILE, "utf8"));
    const links = document.definitions.flatMap((definition) =>
      definition.kind === Kind.SCHEMA_EXTENSION ? (definition.directives ?? []).map((d) => print(d)) : [],
    );
    expect(links).toContain('@link(url: "https://specs.apollo.dev/federation/v2.0", import: ["@key", "@shareable"])');
    const keys: Record<string, string[]> = {};
    const shareable: string[] = [];
    for (const definition of document.definitions) {
      if (definition.kind !== Kind.OBJECT_TYPE_DEFINITION) continue;
      for (const directive of definition.directives ?? []) {
        if (directive.name.value === "shareable") shareable.push(definition.name.value);
        if (directive.name.value !== "key") continue;
        const fields = directive.arguments?.find((argument) => argument.name.value === "fields")?.value;
        (keys[definition.name.value] ??= []).push(fields?.kind === Kind.STRING ? fields.value : "?");
      }
    }
    expect(keys).toEqual(
      Object.fromEntries(Object.entries(ENTITY_TYPES).map(([name, type]) => [name, [type.keyFields.join(" ")]])),
    );
    // The value types other subgraphs define too.
    expect(shareable).toContain("PageInfo");
    for (const name of ["Event", "Account", "Order", "ReferencedResource", "UserIdentity", "IngestReject"]) {
      expect(shareable).toEqual(expect.arrayContaining([`${name}Connection`, `${name}Edge`]));
    }
  });

  it("keeps the fields' extensions (type-graphql's complexity) across the SDL round trip", async () => {
    const plain = await buildTypeGraphqlSchema({ resolvers: RESOLVERS, scalarsMap, validate: false });
    const subgraph = await buildTrailGraphSchema();
    const lost: string[] = [];
    for (const type of Object.values(plain.getTypeMap())) {
      if (type.name.startsWith("__") || !isObjectType(type)) continue;
      const target = subgraph.getType(type.name) as GraphQLObjectType;
      for (const field of Object.values(type.getFields())) {
        const kept = target.getFields()[field.name].extensions as Record<string, unknown>;
        for (const [key, value] of Object.entries(field.extensions)) {
          if (kept[key] !== value) lost.push(`${type.name}.${field.name} ${key}`);
        }
      }
    }
    expect(lost).toEqual([]);
    // What it copies, where type-graphql sets it (no field of the schema has a complexity today).
    const from = buildSchema("type Query { a(n: Int): Int }");
    const to = buildSchema("type Query { a(n: Int): Int }");
    const field = from.getQueryType()!.getFields().a;
    Object.assign(field.extensions, { complexity: 5 });
    Object.assign(field.args[0].extensions, { note: "arg" });
    copyExtensions(from, to);
    expect(to.getQueryType()!.getFields().a.extensions).toEqual({ complexity: 5 });
    expect(to.getQueryType()!.getFields().a.args[0].extensions).toEqual({ note: "arg" });
  });
});
