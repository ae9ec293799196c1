import { Field, Float, ObjectType } from "type-graphql";
import { Column, Entity, Index, PrimaryColumn, PrimaryGeneratedColumn } from "typeorm";
import { bigintNumber } from "./columns";

/**
 * A source file whose every record was ingested and committed: re-runs skip it when its
 * path, size and content hash (md5, as OSS delivery file names carry it) are unchanged.
 */
@Entity({ name: "ingested_files" })
export class IngestedFile {
  /** sha256 of the path, so any path length fits a key. */
  @PrimaryColumn({ type: "varchar", length: 64, name: "path_key" })
  pathKey: string;

  @Column({ type: "text", name: "path" })
  path: string;

  @Column({ type: "bigint", name: "size", transformer: bigintNumber })
  size: number;

  @Column({ type: "varchar", length: 32, name: "md5" })
  md5: string;

  @Column({ type: "int", name: "records" })
  records: number;

  @Column({ type: "datetime", precision: 3, name: "completed_at" })
  completedAt: Date;
}

/**
 * A record that could not be ingested, kept so that it can be queried and fixed. Keyed by
 * source, position and reason, so that reading a source again adds no second copy.
 */
@Entity({ name: "ingest_rejects" })
@Index("uq_ingest_rejects_key", ["rejectKey"], { unique: true })
// ingestRejects, newest first.
@Index("ix_ingest_rejects_time", ["rejectedAt", "pk"])
@ObjectType("IngestReject", {
  simpleResolvers: true,
  description: "A record that could not be ingested: where it came from, why, and its text.",
})
export class IngestReject {
  @PrimaryGeneratedColumn({ type: "bigint", name: "pk" })
  pk: number;

  /** sha256 of (source, position, reason). */
  @Column({ type: "varchar", length: 64, name: "reject_key" })
  rejectKey: string;

  @Column({ type: "datetime", precision: 3, name: "rejected_at" })
  @Field(() => Date, { description: "When the record was rejected." })
  rejectedAt: Date;

  @Column({ type: "varchar", length: 1024, name: "source" })
  @Field(() => String, { description: "The file, `-` (standard input) or `http` (POST /ingest) it came from." })
  source: string;

  @Column({ type: "varchar", length: 255, name: "position" })
  @Field(() => String, { description: "Where in the source: `element 12`, `line 40`, `line 1, Events[3]`, ..." })
  position: string;

  @Column({ type: "bigint", name: "byte_offset", nullable: true, transformer: bigintNumber })
  @Field(() => Float, { nullable: true, description: "Byte offset of the record in the (decompressed) source." })
  byteOffset: number | null;

  @Column({ type: "text", name: "reason" })
  @Field(() => String, { description: "Why it was rejected." })
  reason: string;

  @Column({ type: "text", name: "text", nullable: true })
  @Field(() => String, { nullable: true, description: "The record's text as received (cut at 16 KiB)." })
  text: string | null;
}
