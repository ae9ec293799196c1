"use strict";
// Preloaded into a child (`node --require bench/peak-rss.cjs ...`): reports the process's
// peak resident set size when it exits. A pipe write is synchronous on Linux, so the line
// is out before the process is gone, even on process.exit(). `trailgraph ingest` runs the
// work in a forked child with a bounded heap (src/ingest/bounded-heap.ts): the fork inherits
// node's flags, this preload included, so both processes report; `forked=1` marks the child.
//
// On Linux the peak is VmHWM from /proc/self/status: getrusage's maxRSS also counts the
// process that spawned this one as it was before exec (the benchmark itself, 100 MB after
// writing a large file), which would be reported for a CLI that never used as much.
// A CommonJS preload (`--require`), read by node as is.
// eslint-disable-next-line @typescript-eslint/no-require-imports, no-undef
const { readFileSync } = require("node:fs");

const forked = process.channel ? 1 : 0;

function peakKb() {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
    if (match) return { kb: Number(match[1]), source: "VmHWM" };
  } catch {
    // not Linux
  }
  return { kb: process.resourceUsage().maxRSS, source: "maxRSS" };
}

process.on("exit", () => {
  const peak = peakKb();
  process.stderr.write(`[peak-rss] ${peak.kb} pid=${process.pid} forked=${forked} source=${peak.source}\n`);
});
