/* eslint-disable @typescript-eslint/no-require-imports */
/**
 * The DataSource for the TypeORM CLI, from DATABASE_URL (the embedded SQLite store when
 * unset): `npx typeorm -d ormconfig.ts migration:run`, or after a build
 * `npx typeorm -d dist/ormconfig.js migration:run`.
 *
 * Plain `npx typeorm` loads this file with Node's own require, which does not read
 * TypeScript: so it is written in CommonJS with no type syntax, and registers tsx's loader
 * for the sources it requires. The compiled dist/ormconfig.js needs no loader.
 */
if (__filename.endsWith(".ts")) require("tsx/cjs");
const { createDataSource, migrationConfig, storeConfig } = require("./src/db/datasource");

module.exports = {
  // Migrations run without the statement time limits.
  dataSource: createDataSource(migrationConfig(storeConfig(process.env.DATABASE_URL, { schemaMessages: true }))),
};
