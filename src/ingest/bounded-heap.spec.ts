import { describe, expect, it } from "vitest";
import { boundedExecArgv, DEFAULT_INGEST_HEAP_MB, ingestHeapBound } from "./bounded-heap";

describe("ingestHeapBound", () => {
  it("bounds the heap by default, at TRAILGRAPH_INGEST_HEAP_MB when set", () => {
    expect(ingestHeapBound([], {})).toBe(DEFAULT_INGEST_HEAP_MB);
    expect(ingestHeapBound(["--enable-source-maps"], { NODE_OPTIONS: "--trace-warnings" })).toBe(
      DEFAULT_INGEST_HEAP_MB,
    );
    expect(ingestHeapBound([], { TRAILGRAPH_INGEST_HEAP_MB: " 256 " })).toBe(256);
    expect(ingestHeapBound([], { TRAILGRAPH_INGEST_HEAP_MB: "" })).toBe(DEFAULT_INGEST_HEAP_MB);
  });

  it("runs in this process when node was given a heap size, or when turned off", () => {
    for (const flag of [
      "--max-old-space-size=4096",
      "--max_old_space_size=300",
      "--max-heap-size=512",
      "--max-old-space-size",
    ]) {
      expect(ingestHeapBound([flag], {}), flag).toBeNull();
      expect(ingestHeapBound([], { NODE_OPTIONS: `--require x.js ${flag}` }), flag).toBeNull();
    }
    expect(ingestHeapBound([], { TRAILGRAPH_INGEST_HEAP_MB: "0" })).toBeNull();
    expect(ingestHeapBound([], { TRAILGRAPH_INGEST_HEAP_MB: "off" })).toBeNull();
    // Other size flags do not bound the old space.
    expect(ingestHeapBound(["--max-semi-space-size=64"], {})).toBe(DEFAULT_INGEST_HEAP_MB);
  });

  it("refuses a setting that is not a number of MB", () => {
    for (const value of ["lots", "12", "1.5", "-5", "128MB"]) {
      expect(() => ingestHeapBound([], { TRAILGRAPH_INGEST_HEAP_MB: value }), value).toThrow(
        /TRAILGRAPH_INGEST_HEAP_MB/,
      );
    }
  });
});

describe("boundedExecArgv", () => {
  it("adds the bound and a floor for the old space (at most half the bound) to node's own flags", () => {
    expect(boundedExecArgv(256, ["--enable-source-maps"], {})).toEqual([
      "--enable-source-maps",
      "--max-old-space-size=256",
      "--initial-old-space-size=96",
    ]);
    expect(boundedExecArgv(100, [], {})).toEqual(["--max-old-space-size=100", "--initial-old-space-size=50"]);
  });

  it("leaves a floor given to node alone", () => {
    expect(boundedExecArgv(256, ["--initial-old-space-size=20"], {})).toEqual([
      "--initial-old-space-size=20",
      "--max-old-space-size=256",
    ]);
    expect(boundedExecArgv(256, [], { NODE_OPTIONS: "--initial_old_space_size=20" })).toEqual([
      "--max-old-space-size=256",
    ]);
  });
});
