/** A fragment of SQL with its `?` parameters, composed without string-pasting values. */
export interface Sql {
  text: string;
  params: unknown[];
}

export function sql(text: string, ...params: unknown[]): Sql {
  return { text, params };
}

export function placeholders(count: number): string {
  return Array(count).fill("?").join(", ");
}

/** `column IN (?, ...)`. */
export function inList(column: string, values: readonly unknown[]): Sql {
  return { text: `${column} IN (${placeholders(values.length)})`, params: [...values] };
}

/** Fragments joined with OR; `1 = 0` when there are none. */
export function or(parts: readonly Sql[]): Sql {
  if (parts.length === 0) return sql("1 = 0");
  return {
    text: parts.map((part) => `(${part.text})`).join(" OR "),
    params: parts.flatMap((part) => part.params),
  };
}

/** Fragments joined with AND; `1 = 1` when there are none. */
export function and(parts: readonly Sql[]): Sql {
  if (parts.length === 0) return sql("1 = 1");
  return {
    text: parts.map((part) => `(${part.text})`).join(" AND "),
    params: parts.flatMap((part) => part.params),
  };
}
