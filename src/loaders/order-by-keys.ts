/**
 * DataLoader batch functions must answer in the order of their keys. These two helpers put
 * rows back in key order: one row per key, or a list of rows per key.
 */
export function oneByKey<K, V>(
  keys: readonly K[],
  rows: readonly V[],
  keyOf: (row: V) => string | number,
): Array<V | null> {
  const byKey = new Map<string, V>();
  for (const row of rows) byKey.set(String(keyOf(row)), row);
  return keys.map((key) => byKey.get(String(key)) ?? null);
}

export function manyByKey<K, V>(keys: readonly K[], pairs: ReadonlyArray<readonly [K, V]>): V[][] {
  const byKey = new Map<string, V[]>(keys.map((key) => [String(key), []]));
  for (const [key, value] of pairs) byKey.get(String(key))?.push(value);
  return keys.map((key) => byKey.get(String(key))!);
}
