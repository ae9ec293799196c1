import { Initial1795250675817 } from "./1795250675817-Initial";

/** Applied in this order; never edit one that has shipped, add a new one. */
export const MYSQL_MIGRATIONS = [Initial1795250675817];
