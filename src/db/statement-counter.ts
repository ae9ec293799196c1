import type { Logger, QueryRunner } from "typeorm";

/**
 * A TypeORM logger that counts the SQL statements sent to the database and reports errors.
 * Tests use the count to prove that nested queries are batched; TRAILGRAPH_LOG_SQL=1 also
 * prints every statement.
 */
export class StatementCounter implements Logger {
  count = 0;
  /** Told each read side statement's time, ms (src/db/reader.ts): the metrics' histogram, when there is one. */
  onRead: ((ms: number) => void) | null = null;
  private readonly echo = process.env.TRAILGRAPH_LOG_SQL === "1";

  /** @param schemaMessages print migration and schema messages (the TypeORM CLI's output). */
  constructor(private readonly schemaMessages = false) {}

  logQuery(query: string, parameters?: unknown[], _queryRunner?: QueryRunner): void {
    this.count++;
    if (this.echo) process.stderr.write(`[sql] ${query} ${parameters?.length ? JSON.stringify(parameters) : ""}\n`);
  }

  logQueryError(error: string | Error, query: string, parameters?: unknown[], _queryRunner?: QueryRunner): void {
    this.count++;
    if (this.echo) process.stderr.write(`[sql error] ${String(error)}: ${query} ${JSON.stringify(parameters ?? [])}\n`);
  }

  logQuerySlow(): void {}
  logSchemaBuild(message: string): void {
    if (this.schemaMessages || this.echo) process.stderr.write(`${message}\n`);
  }

  logMigration(message: string): void {
    if (this.schemaMessages || this.echo) process.stderr.write(`${message}\n`);
  }

  log(): void {}
}
