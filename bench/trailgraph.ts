/**
 * The benchmark measures the code `npm run build` produced (dist/), the same code the
 * `trailgraph` CLI runs. Modules are loaded from dist/ with Node's own require (typed from
 * their sources): tsx/esbuild emits no decorator metadata, which type-graphql needs, and under
 * vitest a second copy of graphql would be loaded beside the one dist/ uses.
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";

/** The project root (where package.json is). */
export const ROOT = resolve(__dirname, "..");
/** The built CLI. */
export const CLI = join(ROOT, "dist", "src", "cli.js");

const requireFromRoot = createRequire(join(ROOT, "package.json"));

function fromDist<T>(module: string): T {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm run bench does).`);
  return requireFromRoot(join(ROOT, "dist", "src", module)) as T;
}

export type DatasourceModule = typeof import("../src/db/datasource");
export type ContextModule = typeof import("../src/context");
export type ScopeModule = typeof import("../src/db/scope");
export type SchemaModule = typeof import("../src/schema/build");
export type NormalizeModule = typeof import("../src/ingest/normalize");
export type GeneratorModule = typeof import("../src/generate/generator");
export type OssWriterModule = typeof import("../src/generate/oss-writer");
export type GraphqlModule = typeof import("graphql");
export type OpenModule = typeof import("../src/db/open");
export type AppModule = typeof import("../src/server/app");
export type NormalizedEvent = import("../src/ingest/normalize").NormalizedEvent;
export type GenerateOptions = import("../src/generate/generator").GenerateOptions;

export const trailgraph = {
  datasource: () => fromDist<DatasourceModule>("db/datasource.js"),
  context: () => fromDist<ContextModule>("context.js"),
  scope: () => fromDist<ScopeModule>("db/scope.js"),
  schema: () => fromDist<SchemaModule>("schema/build.js"),
  normalize: () => fromDist<NormalizeModule>("ingest/normalize.js"),
  generator: () => fromDist<GeneratorModule>("generate/generator.js"),
  ossWriter: () => fromDist<OssWriterModule>("generate/oss-writer.js"),
  open: () => fromDist<OpenModule>("db/open.js"),
  app: () => fromDist<AppModule>("server/app.js"),
  /** The graphql copy dist/ (and type-graphql) use. */
  graphql: () => requireFromRoot("graphql") as GraphqlModule,
};

/** Version of an installed package, from its package.json. */
export function packageVersion(name: string): string {
  try {
    // Read the file: some packages' "exports" do not expose their package.json.
    return (JSON.parse(readFileSync(join(ROOT, "node_modules", name, "package.json"), "utf8")) as { version: string })
      .version;
  } catch {
    return "?";
  }
}
