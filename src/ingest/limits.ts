/**
 * Deepest nesting of arrays and objects a record may have: deeper values cannot be serialised
 * back by JSON.stringify on every path (Node overflows its stack at a few thousand levels), so
 * they are rejected at ingest with this limit in the reason.
 */
export const MAX_JSON_DEPTH = 512;
