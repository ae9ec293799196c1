import { describe, expect, it } from "vitest";
import { encodeCursor, pageRequest, type SortColumn } from "./keyset";

const decoded = (cursor: string) => JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));

describe("cursors", () => {
  it("are base64url JSON of the tag and the values, written as JSON.stringify writes them", () => {
    const cases: unknown[][] = [
      [1_700_000_000_123, 42],
      [0, -1, 2 ** 53 - 1, 1.5],
      ["1512666876912345", 'quote " backslash \\ newline \n', "名前 🚀", ""],
      [Number.NaN, Number.POSITIVE_INFINITY, null],
    ];
    for (const values of cases) {
      const cursor = encodeCursor('ev"D', values);
      expect(cursor).toBe(Buffer.from(JSON.stringify(['ev"D', ...values]), "utf8").toString("base64url"));
      expect(decoded(cursor)).toEqual(JSON.parse(JSON.stringify(['ev"D', ...values])));
    }
  });

  it("come back through pageRequest as the values they were made of", () => {
    const sort: SortColumn[] = [
      { column: "e.event_time", kind: "time" },
      { column: "e.account_id", kind: "string" },
      { column: "e.pk", kind: "int" },
    ];
    const cursor = encodeCursor("evD", [1_700_000_000_123, "151266687691 \u00e9", 7]);
    expect(pageRequest({ first: 5, after: cursor }, "evD", sort).after).toEqual([
      1_700_000_000_123,
      "151266687691 \u00e9",
      7,
    ]);
    expect(() => pageRequest({ first: 5, after: cursor }, "evA", sort)).toThrow(/does not belong to this list/);
  });
});
