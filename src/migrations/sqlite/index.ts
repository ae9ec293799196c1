import { Initial1795250677773 } from "./1795250677773-Initial";
import { IngestBookkeeping1795252377753 } from "./1795252377753-IngestBookkeeping";
import { EventDailyCounts1795262477491 } from "./1795262477491-EventDailyCounts";
import { EventPeriodCounts1795280313250 } from "./1795280313250-EventPeriodCounts";
import { OwnTimes1795310000001 } from "./1795310000001-OwnTimes";

/** Applied in this order; never edit one that has shipped, add a new one. */
export const SQLITE_MIGRATIONS = [Initial1795250677773, IngestBookkeeping1795252377753, EventDailyCounts1795262477491, EventPeriodCounts1795280313250, OwnTimes1795310000001];
