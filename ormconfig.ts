import { createDataSource, storeConfig } from "./src/db/datasource";

/**
 * The DataSource for the TypeORM CLI, from DATABASE_URL (the embedded SQLite store when
 * unset): `npx typeorm-ts-node-commonjs -d ormconfig.ts migration:run`.
 */
export default createDataSource(storeConfig());
