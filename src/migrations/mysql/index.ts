import { Initial1795250675817 } from "./1795250675817-Initial";
import { IngestBookkeeping1795252375488 } from "./1795252375488-IngestBookkeeping";
import { EventDailyCounts1795262475312 } from "./1795262475312-EventDailyCounts";
import { EventPeriodCounts1795280313249 } from "./1795280313249-EventPeriodCounts";
import { ExactText1795300000000 } from "./1795300000000-ExactText";
import { OwnTimes1795310000000 } from "./1795310000000-OwnTimes";

/** Applied in this order; never edit one that has shipped, add a new one. */
export const MYSQL_MIGRATIONS = [Initial1795250675817, IngestBookkeeping1795252375488, EventDailyCounts1795262475312, EventPeriodCounts1795280313249, ExactText1795300000000, OwnTimes1795310000000];
