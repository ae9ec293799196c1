import { Field, ID, InterfaceType } from "type-graphql";
import { encodeGlobalId } from "./global-id";

/**
 * The Relay `Node` interface. Every entity that a client can refetch by ID extends it and
 * names its natural key; the global ID is derived from that key, never stored.
 */
@InterfaceType("Node", { description: "An object with a globally unique ID." })
export abstract class Node {
  /** The GraphQL type name followed by the natural key of the object. */
  abstract get nodeRef(): [typename: string, ...key: string[]];

  @Field(() => ID, {
    description: "Globally unique, opaque ID of this object; `node(id:)` fetches it again.",
  })
  get id(): string {
    return encodeGlobalId(this.nodeRef);
  }
}
