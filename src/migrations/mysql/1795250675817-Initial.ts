import { MigrationInterface, QueryRunner } from "typeorm";

export class Initial1795250675817 implements MigrationInterface {
    name = 'Initial1795250675817'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE \`accounts\` (\`account_id\` varchar(64) NOT NULL, \`first_seen_at\` datetime(3) NOT NULL, PRIMARY KEY (\`account_id\`)) ENGINE=InnoDB`);
        await queryRunner.query(`CREATE TABLE \`events\` (\`pk\` bigint NOT NULL AUTO_INCREMENT, \`event_id\` varchar(128) NOT NULL, \`event_time\` datetime(3) NOT NULL, \`event_name\` varchar(128) NULL, \`event_type\` varchar(64) NULL, \`event_category\` varchar(64) NULL, \`event_rw\` varchar(16) NULL, \`event_version\` varchar(16) NULL, \`event_source\` varchar(128) NULL, \`service_name\` varchar(64) NULL, \`acs_region\` varchar(64) NULL, \`request_id\` varchar(128) NULL, \`api_version\` varchar(64) NULL, \`source_ip_address\` varchar(64) NULL, \`user_agent\` varchar(1024) NULL, \`vpc_id\` varchar(64) NULL, \`is_global\` tinyint NULL, \`error_code\` varchar(128) NULL, \`error_message\` text NULL, \`failed\` tinyint NOT NULL, \`sensitive_action\` tinyint NULL, \`recipient_account_id\` varchar(64) NULL, \`account_id\` varchar(64) NULL, \`identity_pk\` bigint NULL, \`session_created_at\` datetime(3) NULL, \`mfa_authenticated\` tinyint NULL, INDEX \`ix_events_rw_time\` (\`event_rw\`, \`event_time\`, \`pk\`), INDEX \`ix_events_failed_time\` (\`failed\`, \`event_time\`, \`pk\`), INDEX \`ix_events_error_time\` (\`error_code\`, \`event_time\`, \`pk\`), INDEX \`ix_events_ip_time\` (\`source_ip_address\`, \`event_time\`, \`pk\`), INDEX \`ix_events_region_time\` (\`acs_region\`, \`event_time\`, \`pk\`), INDEX \`ix_events_source_time\` (\`event_source\`, \`event_time\`, \`pk\`), INDEX \`ix_events_service_time\` (\`service_name\`, \`event_time\`, \`pk\`), INDEX \`ix_events_type_time\` (\`event_type\`, \`event_time\`, \`pk\`), INDEX \`ix_events_name_time\` (\`event_name\`, \`event_time\`, \`pk\`), INDEX \`ix_events_identity_time\` (\`identity_pk\`, \`event_time\`, \`pk\`), INDEX \`ix_events_account_time\` (\`account_id\`, \`event_time\`, \`pk\`), INDEX \`ix_events_time\` (\`event_time\`, \`pk\`), UNIQUE INDEX \`uq_events_event_id\` (\`event_id\`), PRIMARY KEY (\`pk\`)) ENGINE=InnoDB`);
        await queryRunner.query(`CREATE TABLE \`event_resources\` (\`event_pk\` bigint NOT NULL, \`resource_pk\` bigint NOT NULL, \`event_time\` datetime(3) NOT NULL, INDEX \`ix_event_resources_resource_time\` (\`resource_pk\`, \`event_time\`, \`event_pk\`), PRIMARY KEY (\`event_pk\`, \`resource_pk\`)) ENGINE=InnoDB`);
        await queryRunner.query(`CREATE TABLE \`event_orders\` (\`event_pk\` bigint NOT NULL, \`order_id\` varchar(64) NOT NULL, \`event_time\` datetime(3) NOT NULL, INDEX \`ix_event_orders_order_time\` (\`order_id\`, \`event_time\`, \`event_pk\`), PRIMARY KEY (\`event_pk\`, \`order_id\`)) ENGINE=InnoDB`);
        await queryRunner.query(`CREATE TABLE \`event_payloads\` (\`event_pk\` bigint NOT NULL, \`raw\` json NOT NULL, PRIMARY KEY (\`event_pk\`)) ENGINE=InnoDB`);
        await queryRunner.query(`CREATE TABLE \`orders\` (\`order_id\` varchar(64) NOT NULL, \`account_id\` varchar(64) NULL, \`created_at\` datetime(3) NOT NULL, \`purchase_event_pk\` bigint NULL, INDEX \`ix_orders_created\` (\`created_at\`, \`order_id\`), INDEX \`ix_orders_account_created\` (\`account_id\`, \`created_at\`, \`order_id\`), PRIMARY KEY (\`order_id\`)) ENGINE=InnoDB`);
        await queryRunner.query(`CREATE TABLE \`order_items\` (\`order_id\` varchar(64) NOT NULL, \`resource_pk\` bigint NOT NULL, \`article_config\` json NULL, INDEX \`ix_order_items_resource\` (\`resource_pk\`, \`order_id\`), PRIMARY KEY (\`order_id\`, \`resource_pk\`)) ENGINE=InnoDB`);
        await queryRunner.query(`CREATE TABLE \`resources\` (\`pk\` bigint NOT NULL AUTO_INCREMENT, \`type\` varchar(128) NOT NULL, \`resource_id\` varchar(255) NOT NULL, \`account_id\` varchar(64) NULL, \`first_seen_at\` datetime(3) NOT NULL, INDEX \`ix_resources_account_type\` (\`account_id\`, \`type\`, \`pk\`), INDEX \`ix_resources_type\` (\`type\`, \`pk\`), UNIQUE INDEX \`uq_resources_id_type\` (\`resource_id\`, \`type\`), PRIMARY KEY (\`pk\`)) ENGINE=InnoDB`);
        await queryRunner.query(`CREATE TABLE \`identities\` (\`pk\` bigint NOT NULL AUTO_INCREMENT, \`identity_key\` varchar(64) NOT NULL, \`type\` varchar(64) NOT NULL, \`account_id\` varchar(64) NULL, \`principal_id\` varchar(255) NULL, \`user_name\` varchar(255) NULL, \`access_key_id\` varchar(128) NULL, INDEX \`ix_identities_type\` (\`type\`), INDEX \`ix_identities_access_key\` (\`access_key_id\`), INDEX \`ix_identities_user_name\` (\`user_name\`), INDEX \`ix_identities_principal\` (\`principal_id\`), INDEX \`ix_identities_account\` (\`account_id\`), UNIQUE INDEX \`uq_identities_key\` (\`identity_key\`), PRIMARY KEY (\`pk\`)) ENGINE=InnoDB`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP INDEX \`uq_identities_key\` ON \`identities\``);
        await queryRunner.query(`DROP INDEX \`ix_identities_account\` ON \`identities\``);
        await queryRunner.query(`DROP INDEX \`ix_identities_principal\` ON \`identities\``);
        await queryRunner.query(`DROP INDEX \`ix_identities_user_name\` ON \`identities\``);
        await queryRunner.query(`DROP INDEX \`ix_identities_access_key\` ON \`identities\``);
        await queryRunner.query(`DROP INDEX \`ix_identities_type\` ON \`identities\``);
        await queryRunner.query(`DROP TABLE \`identities\``);
        await queryRunner.query(`DROP INDEX \`uq_resources_id_type\` ON \`resources\``);
        await queryRunner.query(`DROP INDEX \`ix_resources_type\` ON \`resources\``);
        await queryRunner.query(`DROP INDEX \`ix_resources_account_type\` ON \`resources\``);
        await queryRunner.query(`DROP TABLE \`resources\``);
        await queryRunner.query(`DROP INDEX \`ix_order_items_resource\` ON \`order_items\``);
        await queryRunner.query(`DROP TABLE \`order_items\``);
        await queryRunner.query(`DROP INDEX \`ix_orders_account_created\` ON \`orders\``);
        await queryRunner.query(`DROP INDEX \`ix_orders_created\` ON \`orders\``);
        await queryRunner.query(`DROP TABLE \`orders\``);
        await queryRunner.query(`DROP TABLE \`event_payloads\``);
        await queryRunner.query(`DROP INDEX \`ix_event_orders_order_time\` ON \`event_orders\``);
        await queryRunner.query(`DROP TABLE \`event_orders\``);
        await queryRunner.query(`DROP INDEX \`ix_event_resources_resource_time\` ON \`event_resources\``);
        await queryRunner.query(`DROP TABLE \`event_resources\``);
        await queryRunner.query(`DROP INDEX \`uq_events_event_id\` ON \`events\``);
        await queryRunner.query(`DROP INDEX \`ix_events_time\` ON \`events\``);
        await queryRunner.query(`DROP INDEX \`ix_events_account_time\` ON \`events\``);
        await queryRunner.query(`DROP INDEX \`ix_events_identity_time\` ON \`events\``);
        await queryRunner.query(`DROP INDEX \`ix_events_name_time\` ON \`events\``);
        await queryRunner.query(`DROP INDEX \`ix_events_type_time\` ON \`events\``);
        await queryRunner.query(`DROP INDEX \`ix_events_service_time\` ON \`events\``);
        await queryRunner.query(`DROP INDEX \`ix_events_source_time\` ON \`events\``);
        await queryRunner.query(`DROP INDEX \`ix_events_region_time\` ON \`events\``);
        await queryRunner.query(`DROP INDEX \`ix_events_ip_time\` ON \`events\``);
        await queryRunner.query(`DROP INDEX \`ix_events_error_time\` ON \`events\``);
        await queryRunner.query(`DROP INDEX \`ix_events_failed_time\` ON \`events\``);
        await queryRunner.query(`DROP INDEX \`ix_events_rw_time\` ON \`events\``);
        await queryRunner.query(`DROP TABLE \`events\``);
        await queryRunner.query(`DROP TABLE \`accounts\``);
    }

}
