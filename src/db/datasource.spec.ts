import { afterEach, describe, expect, it } from "vitest";
import { poolSize, storeConfig } from "./datasource";

describe("TRAILGRAPH_DB_POOL", () => {
  const saved = process.env.TRAILGRAPH_DB_POOL;
  afterEach(() => {
    if (saved === undefined) delete process.env.TRAILGRAPH_DB_POOL;
    else process.env.TRAILGRAPH_DB_POOL = saved;
  });

  it("is a number of connections from 1 to 1000 (10 by default); a bad value names the variable", () => {
    expect(poolSize({})).toBe(10);
    expect(poolSize({ TRAILGRAPH_DB_POOL: "25" })).toBe(25);
    for (const bad of ["0", "-1", "ten", "1.5", "1001"]) {
      expect(() => poolSize({ TRAILGRAPH_DB_POOL: bad }), bad).toThrow(`TRAILGRAPH_DB_POOL '${bad}'`);
    }
  });

  it("sizes a MySQL store's pool, and a bad value stops the store from opening", () => {
    process.env.TRAILGRAPH_DB_POOL = "7";
    expect((storeConfig("mysql://user@127.0.0.1:3306/trailgraph").options as { poolSize?: number }).poolSize).toBe(7);
    process.env.TRAILGRAPH_DB_POOL = "0";
    expect(() => storeConfig("mysql://user@127.0.0.1:3306/trailgraph")).toThrow(/TRAILGRAPH_DB_POOL '0'/);
  });
});
