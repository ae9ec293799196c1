import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { DataSource } from "typeorm";
import { ingest, type IngestSummary } from "../ingest/ingest";
import { bufferSource } from "../ingest/sources";
import { packageRoot } from "../paths";
import { createDataSource, migrationConfig, storeConfig, type StoreConfig } from "./datasource";

/** The bundled sample events, shipped in the package. */
export const SAMPLES_FILE = join(packageRoot(), "samples", "events.json");

export interface OpenedStore {
  config: StoreConfig;
  dataSource: DataSource;
}

export interface OpenOptions {
  /** Apply pending migrations (always done for the embedded store). */
  migrate?: boolean;
  log?: (message: string) => void;
}

/**
 * Connects to the configured store. The embedded SQLite store migrates itself; a MySQL
 * database must be migrated on purpose (`trailgraph migrate`), and opening one with
 * pending migrations fails with that advice.
 */
export async function openStore(config: StoreConfig = storeConfig(), options: OpenOptions = {}): Promise<OpenedStore> {
  let dataSource: DataSource;
  try {
    dataSource = createDataSource(config);
    await dataSource.initialize();
  } catch (error) {
    throw new Error(`Cannot connect to ${config.display}: ${(error as Error).message}`);
  }
  if (config.kind === "sqlite" || options.migrate) {
    // MySQL: on a connection of their own, without the statement time limits.
    const migrator = config.kind === "mysql" ? createDataSource(migrationConfig(config)) : dataSource;
    let applied;
    try {
      if (migrator !== dataSource) await migrator.initialize();
      applied = await migrator.runMigrations({ transaction: "each" });
    } finally {
      if (migrator !== dataSource && migrator.isInitialized) await migrator.destroy();
    }
    for (const migration of applied) {
      // A migration that changes what is stored says what it changes.
      const description = (migration.instance as { description?: string } | undefined)?.description;
      options.log?.(`applied migration ${migration.name}${description ? `: ${description}` : ""}`);
    }
  } else if (await dataSource.showMigrations()) {
    await dataSource.destroy();
    throw new Error(
      `${config.display} has pending migrations: run \`trailgraph migrate\` (or \`npx typeorm -d ormconfig.ts migration:run\`) first.`,
    );
  }
  return { config, dataSource };
}

/**
 * Loads the bundled samples into the embedded store when it was chosen by default and holds
 * no event yet, so that a newcomer's first query shows data. Never touches a store named
 * by DATABASE_URL.
 */
export async function loadSamplesIfEmpty(store: OpenedStore, file = SAMPLES_FILE): Promise<IngestSummary | null> {
  if (!store.config.implicit) return null;
  const [{ n }] = await store.dataSource.query("SELECT COUNT(*) AS n FROM events");
  if (Number(n) > 0) return null;
  return ingest(store.dataSource, [bufferSource("samples/events.json", await readFile(file))]);
}
