import { Account, Event, IngestReject, Order, ReferencedResource, UserIdentity } from "../entities";
import { Connection } from "../schema/connection";

export const EventConnection = Connection(Event, "Event", "events");
export const AccountConnection = Connection(Account, "Account", "accounts");
export const OrderConnection = Connection(Order, "Order", "orders");
export const ResourceConnection = Connection(ReferencedResource, "ReferencedResource", "resources");
export const UserIdentityConnection = Connection(UserIdentity, "UserIdentity", "identities");
export const IngestRejectConnection = Connection(IngestReject, "IngestReject", "rejected records");
