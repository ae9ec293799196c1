import { MigrationInterface, QueryRunner } from "typeorm";

/**
 * The two ingest bookkeeping tables. Trimmed by hand from `migration:generate`, which on
 * MariaDB also proposes no-op changes (JSON columns read back as longtext, NULL defaults).
 */
export class IngestBookkeeping1795252375488 implements MigrationInterface {
  name = "IngestBookkeeping1795252375488";

  public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE \`ingested_files\` (\`path_key\` varchar(64) NOT NULL, \`path\` text NOT NULL, \`size\` bigint NOT NULL, \`md5\` varchar(32) NOT NULL, \`records\` int NOT NULL, \`completed_at\` datetime(3) NOT NULL, PRIMARY KEY (\`path_key\`)) ENGINE=InnoDB`);
        await queryRunner.query(`CREATE TABLE \`ingest_rejects\` (\`pk\` bigint NOT NULL AUTO_INCREMENT, \`reject_key\` varchar(64) NOT NULL, \`rejected_at\` datetime(3) NOT NULL, \`source\` varchar(1024) NOT NULL, \`position\` varchar(255) NOT NULL, \`byte_offset\` bigint NULL, \`reason\` text NOT NULL, \`text\` text NULL, INDEX \`ix_ingest_rejects_time\` (\`rejected_at\`, \`pk\`), UNIQUE INDEX \`uq_ingest_rejects_key\` (\`reject_key\`), PRIMARY KEY (\`pk\`)) ENGINE=InnoDB`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE \`ingest_rejects\``);
    await queryRunner.query(`DROP TABLE \`ingested_files\``);
  }
}
