"use strict";
// Preloaded into a child (`node --require bench/peak-rss.cjs ...`): reports the process's
// peak resident set size when it exits. A pipe write is synchronous on Linux, so the line
// is out before the process is gone, even on process.exit().
process.on("exit", () => {
  process.stderr.write(`[peak-rss] ${process.resourceUsage().maxRSS}\n`);
});
