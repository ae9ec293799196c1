import { describe, expect, it } from "vitest";
import { isoFromEpochMs, isoString } from "./iso-string";
import { GraphQLDateTime } from "./scalars";

describe("DateTime serialization", () => {
  it("isoFromEpochMs is toISOString for every kind of instant from 1970 to 9999", () => {
    const edges = [
      0,
      1,
      999,
      86_399_999,
      86_400_000,
      Date.UTC(1999, 11, 31, 23, 59, 59, 999),
      Date.UTC(2000, 1, 29, 12, 0, 0, 5),
      Date.UTC(2000, 2, 1),
      Date.UTC(2100, 1, 28, 23, 59, 59, 999),
      Date.UTC(2100, 2, 1),
      Date.UTC(2024, 1, 29),
      Date.UTC(2024, 11, 31, 23, 59, 59, 999),
      Date.UTC(9999, 11, 31, 23, 59, 59, 999),
    ];
    for (const ms of edges) expect(isoFromEpochMs(ms)).toBe(new Date(ms).toISOString());
    // Every day of 1970-2100 at a varying time of day, then random instants up to 9999.
    for (let day = 0; day < 47_500; day++) {
      const ms = day * 86_400_000 + ((day * 7_919_993) % 86_400_000);
      if (isoFromEpochMs(ms) !== new Date(ms).toISOString())
        expect(isoFromEpochMs(ms)).toBe(new Date(ms).toISOString());
    }
    let seed = 42;
    for (let i = 0; i < 200_000; i++) {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      const ms = Math.floor((seed / 2 ** 31) * 253_402_300_800_000);
      if (isoFromEpochMs(ms) !== new Date(ms).toISOString())
        expect(isoFromEpochMs(ms)).toBe(new Date(ms).toISOString());
    }
  });

  it("isoString is toISOString before 1970, after 9999 and for an invalid date", () => {
    for (const ms of [-1, Date.UTC(1969, 6, 20, 20, 17), Date.UTC(10000, 0, 1), Date.UTC(-5, 0, 1), 8.64e15]) {
      expect(isoString(new Date(ms))).toBe(new Date(ms).toISOString());
    }
    expect(() => isoString(new Date(Number.NaN))).toThrow(RangeError);
  });

  it("serializes Dates inside and outside 1970-9999 as ISO strings, and refuses what is not a time", () => {
    for (const ms of [0, Date.UTC(2021, 7, 2, 6, 30, 17), -1, Date.UTC(1969, 6, 20, 20, 17), Date.UTC(10000, 0, 1)]) {
      expect(GraphQLDateTime.serialize(new Date(ms))).toBe(new Date(ms).toISOString());
    }
    expect(GraphQLDateTime.serialize("2021-08-02T06:30:17Z")).toBe("2021-08-02T06:30:17.000Z");
    expect(() => GraphQLDateTime.serialize(new Date(Number.NaN))).toThrow(/DateTime/);
    expect(() => GraphQLDateTime.serialize({})).toThrow(/DateTime/);
  });
});
