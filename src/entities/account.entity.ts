import { Directive, Field, ObjectType } from "type-graphql";
import { Column, Entity, PrimaryColumn } from "typeorm";
import { Node } from "../schema/node";
import { LIMITS } from "./columns";

/** An Alibaba Cloud account, seen as the owner of events or as a requester. */
@Entity({ name: "accounts" })
// Federation: other subgraphs reference and extend an account by its ID.
@Directive('@key(fields: "accountId")')
@ObjectType("Account", {
  simpleResolvers: true,
  implements: Node,
  description: "An Alibaba Cloud account: the owner of events, identities, orders and resources.",
})
export class Account extends Node {
  @PrimaryColumn({ type: "varchar", length: LIMITS.accountId, name: "account_id" })
  @Field(() => String, {
    description: "The account ID as ActionTrail reports it (may be masked, e.g. `151266687691****`).",
  })
  accountId: string;

  @Column({ type: "datetime", precision: 3, name: "first_seen_at", nullable: true })
  @Field(() => Date, {
    nullable: true,
    description:
      "Time of the account's earliest event ingested; null while the store holds none of its own events " +
      "(other accounts' events name it as requester or recipient).",
  })
  firstSeenAt: Date | null;

  get nodeRef(): [string, string] {
    return ["Account", this.accountId];
  }
}
