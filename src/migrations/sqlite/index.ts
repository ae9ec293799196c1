import { Initial1795250677773 } from "./1795250677773-Initial";

/** Applied in this order; never edit one that has shipped, add a new one. */
export const SQLITE_MIGRATIONS = [Initial1795250677773];
