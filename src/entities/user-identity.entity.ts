import { createHash } from "node:crypto";
import { Directive, Field, ObjectType } from "type-graphql";
import { Column, Entity, Index, PrimaryGeneratedColumn } from "typeorm";
import { Node } from "../schema/node";
import { LIMITS } from "./columns";

/**
 * A distinct requester: one row per (type, accountId, principalId, userName, accessKeyId).
 * `identity_key` is a hash of that tuple, so that ingest can upsert identities in bulk
 * without a unique index over nullable columns (which MySQL would not enforce).
 */
@Entity({ name: "identities" })
// Ingest's insert-or-ignore and node(id).
@Index("uq_identities_key", ["identityKey"], { unique: true })
// Account.identities and the tenant scope.
@Index("ix_identities_account", ["accountId"])
// events(filter: {principalIds}).
@Index("ix_identities_principal", ["principalId"])
// events(filter: {userNames}).
@Index("ix_identities_user_name", ["userName"])
// events(filter: {accessKeyIds}).
@Index("ix_identities_access_key", ["accessKeyId"])
// events(filter: {identityTypes}).
@Index("ix_identities_type", ["type"])
// Federation: the whole tuple ActionTrail reports (the identity key hashes it), so a subgraph
// that knows a requester as ActionTrail names it (an IAM directory: a RAM user's type, account,
// user ID, name and AccessKey) can reference it; see src/resolvers/entities.ts.
@Directive('@key(fields: "type accountId principalId userName accessKeyId")')
@ObjectType("UserIdentity", {
  simpleResolvers: true,
  implements: Node,
  description:
    "Who made a request: an Alibaba Cloud account (root), a RAM user, an assumed role session, the platform itself (system), ...",
})
export class UserIdentity extends Node {
  @PrimaryGeneratedColumn({ type: "bigint", name: "pk" })
  pk: number;

  @Column({ type: "varchar", length: LIMITS.identityKey, name: "identity_key" })
  identityKey: string;

  @Column({ type: "varchar", length: LIMITS.shortText, name: "type" })
  @Field(() => String, {
    description:
      "`root-account`, `ram-user`, `assumed-role`, `system`, `cloudsso-user`, `saml-user`, `alibaba-cloud-account`, `oidc-user`, ...",
  })
  type: string;

  @Column({ type: "varchar", length: LIMITS.accountId, name: "account_id", nullable: true })
  @Field(() => String, {
    nullable: true,
    description: "The account the identity belongs to; absent for some `system` identities.",
  })
  accountId: string | null;

  @Column({ type: "varchar", length: LIMITS.principal, name: "principal_id", nullable: true })
  @Field(() => String, {
    nullable: true,
    description: "The account ID (root), the RAM user ID, or `roleId:sessionName` (role).",
  })
  principalId: string | null;

  @Column({ type: "varchar", length: LIMITS.principal, name: "user_name", nullable: true })
  @Field(() => String, { nullable: true, description: "`root`, a RAM user name, or `roleName:sessionName`." })
  userName: string | null;

  @Column({ type: "varchar", length: LIMITS.name, name: "access_key_id", nullable: true })
  @Field(() => String, {
    nullable: true,
    description: "AccessKey ID used for API calls (`STS.` prefix for role sessions).",
  })
  accessKeyId: string | null;

  get nodeRef(): [string, string] {
    return ["UserIdentity", this.identityKey];
  }
}

/** What identifies a requester: the fields of ActionTrail's userIdentity that UserIdentity keeps. */
export interface IdentityTuple {
  type: string;
  accountId: string | null;
  principalId: string | null;
  userName: string | null;
  accessKeyId: string | null;
}

/** `identity_key`: the SHA-256 of the tuple (ingest writes it, `_entities` finds an identity by it). */
export function identityKeyOf({ type, accountId, principalId, userName, accessKeyId }: IdentityTuple): string {
  return createHash("sha256")
    .update(JSON.stringify([type, accountId, principalId, userName, accessKeyId]))
    .digest("hex");
}
