import { Account } from "./account.entity";
import { Event } from "./event.entity";
import { EventDailyCount } from "./event-daily-count.entity";
import { EventOrder, EventResource } from "./event-links.entity";
import { EventPayload } from "./event-payload.entity";
import { EventPeriodCount } from "./event-period-count.entity";
import { IngestedFile, IngestReject } from "./ingest.entity";
import { Order } from "./order.entity";
import { OrderItem } from "./order-item.entity";
import { ReferencedResource } from "./referenced-resource.entity";
import { identityKeyOf, UserIdentity, type IdentityTuple } from "./user-identity.entity";

export {
  Account,
  Event,
  EventDailyCount,
  EventOrder,
  EventPayload,
  EventPeriodCount,
  EventResource,
  IngestedFile,
  IngestReject,
  Order,
  OrderItem,
  ReferencedResource,
  UserIdentity,
  identityKeyOf,
  type IdentityTuple,
};

export const ENTITIES = [
  Account,
  Event,
  EventPayload,
  UserIdentity,
  ReferencedResource,
  Order,
  OrderItem,
  EventResource,
  EventOrder,
  IngestedFile,
  IngestReject,
  EventDailyCount,
  EventPeriodCount,
];
