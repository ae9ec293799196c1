import { describe, expect, it } from "vitest";
import { manyByKey, oneByKey } from "./order-by-keys";

describe("oneByKey", () => {
  it("answers in key order with null for missing keys, matching numbers and strings", () => {
    const rows = [
      { id: "3", name: "c" },
      { id: "1", name: "a" },
    ];
    expect(oneByKey([1, 2, 3], rows, (row) => row.id)).toEqual([rows[1], null, rows[0]]);
  });
});

describe("manyByKey", () => {
  it("groups pairs per key in key order, keeping pair order and empty lists", () => {
    const pairs = [
      [2, "x"],
      [1, "y"],
      [2, "z"],
    ] as const;
    expect(manyByKey([1, 2, 3], pairs)).toEqual([["y"], ["x", "z"], []]);
  });
});
