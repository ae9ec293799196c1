import { Field, ObjectType, registerEnumType } from "type-graphql";
import type { EventDefinitionEntry } from "../catalog";

export enum EventAccess {
  READ = "READ",
  WRITE = "WRITE",
}
registerEnumType(EventAccess, {
  name: "EventAccess",
  description: "Whether an operation reads or changes state.",
  valuesConfig: {
    READ: { description: "A query, description or price inquiry: it changes nothing." },
    WRITE: { description: "An operation that changes state (creates, modifies, pays, deletes)." },
  },
});

@ObjectType("EventDefinition", {
  simpleResolvers: true,
  description: "A catalogued operation that ActionTrail records (the Expenses and Costs OpenAPI), with what it does.",
})
export class EventDefinition implements EventDefinitionEntry {
  @Field(() => String, { description: "The operation's name, as events carry it in `eventName`." })
  eventName: string;

  @Field(() => String, { description: "What the operation does, from the ActionTrail documentation." })
  description: string;

  @Field(() => EventAccess, { description: "READ for queries and inquiries, WRITE for operations that change state." })
  access: EventAccess;
}
