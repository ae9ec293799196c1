import { writeFileSync } from "node:fs";
import { buildTrailGraphSchema } from "../src/schema/build";
import { printSchemaFile, SCHEMA_FILE } from "../src/schema/print";

/** Writes schema.graphql: `npm run schema`. */
async function main(): Promise<void> {
  writeFileSync(SCHEMA_FILE, await printSchemaFile(await buildTrailGraphSchema()));
  console.log(`wrote ${SCHEMA_FILE}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
