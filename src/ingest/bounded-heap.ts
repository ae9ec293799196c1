/**
 * `trailgraph ingest` runs with a bounded V8 heap. Its live set is small (one batch being
 * read, one being written), but under Node's default limit (about 4 GiB on a large machine)
 * V8 collects lazily and the process grows to 500 MB on a long ingest. The limit can only
 * be given when a process starts (`v8.setFlagsFromString` does not move it), so when no heap
 * flag was given, the CLI runs the command again in a child with `--max-old-space-size` and
 * waits for it. This module loads nothing but Node's own modules: the parent stays small.
 */
import { fork } from "node:child_process";
import { constants } from "node:os";

/**
 * The heap bound of `trailgraph ingest`, MB (TRAILGRAPH_INGEST_HEAP_MB). Up to about 512 MB, V8
 * grows a bounded heap by the same small factor, so peak RSS was the same from 128 to 512
 * (bench/FINDINGS.md §5); 256 leaves room for the largest records the reader accepts (16 MiB
 * of JSON each: two in a row ran out of a 192 MB heap).
 */
export const DEFAULT_INGEST_HEAP_MB = 256;

/**
 * The old space may first grow to this (at most half the bound) before V8 collects it. With
 * a bound alone, V8 ran a full collection every batch or two (each batch's SQL text and
 * parameter arrays, megabytes, outlive a scavenge while the statement runs and land in the
 * old space): 211 for 300k events against 10 unbounded, and 45 % more CPU. With this floor:
 * 77, and 20 % more, for the same peak RSS (bench/FINDINGS.md §5).
 */
const OLD_SPACE_FLOOR_MB = 96;

const HEAP_FLAG = /^--max[-_](?:old[-_]space|heap)[-_]size(?:=|$)/;
const FLOOR_FLAG = /^--initial[-_]old[-_]space[-_]size(?:=|$)/;

/**
 * The heap bound (MB) to run the ingest command under, or null to run it in this process:
 * when node was started with a heap-size flag (on its command line or in NODE_OPTIONS), or
 * when TRAILGRAPH_INGEST_HEAP_MB is `0` or `off`.
 */
export function ingestHeapBound(
  execArgv: readonly string[] = process.execArgv,
  env: NodeJS.ProcessEnv = process.env,
): number | null {
  const nodeOptions = (env.NODE_OPTIONS ?? "").split(/\s+/);
  if ([...execArgv, ...nodeOptions].some((flag) => HEAP_FLAG.test(flag))) return null;
  const setting = env.TRAILGRAPH_INGEST_HEAP_MB?.trim() ?? "";
  if (setting === "") return DEFAULT_INGEST_HEAP_MB;
  if (setting === "0" || setting.toLowerCase() === "off") return null;
  const mb = Number(setting);
  if (!/^\d+$/.test(setting) || !Number.isSafeInteger(mb) || mb < 16) {
    throw new Error(`TRAILGRAPH_INGEST_HEAP_MB '${setting}' is not a number of MB (16 or more), 0 or off`);
  }
  return mb;
}

/**
 * Runs this very command (same script, same arguments) in a child with the heap bound, and
 * resolves with its exit code (128 + the signal's number when a signal ended it).
 *
 * - Standard input, output and error are the child's own (`ingest -`, the progress bar).
 * - SIGINT and SIGTERM sent to this process are passed on. A Ctrl-C on a terminal reaches
 *   both processes; the ingest command takes a repeated signal for the same stop request,
 *   and this process waits until the child has finished stopping.
 * - If this process dies, even by SIGKILL, the IPC channel closes and the child exits at
 *   once ({@link exitWithParent}), which is what SIGKILL would have done to a single process:
 *   the open transaction is rolled back, and a re-run finishes the work.
 */
export function runWithBoundedHeap(heapMb: number): Promise<number> {
  const child = fork(process.argv[1], process.argv.slice(2), {
    execArgv: boundedExecArgv(heapMb),
    stdio: ["inherit", "inherit", "inherit", "ipc"],
  });
  const forward = (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  process.on("SIGINT", forward);
  process.on("SIGTERM", forward);
  return new Promise<number>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      process.off("SIGINT", forward);
      process.off("SIGTERM", forward);
      resolve(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0));
    });
  });
}

/** Node's flags for the child: this process's, plus the bound and the old space's floor. */
export function boundedExecArgv(
  heapMb: number,
  execArgv: readonly string[] = process.execArgv,
  env: NodeJS.ProcessEnv = process.env,
): string[] {
  const flags = [...execArgv, `--max-old-space-size=${heapMb}`];
  const given = [...execArgv, ...(env.NODE_OPTIONS ?? "").split(/\s+/)].some((flag) => FLOOR_FLAG.test(flag));
  if (!given) flags.push(`--initial-old-space-size=${Math.min(OLD_SPACE_FLOOR_MB, Math.floor(heapMb / 2))}`);
  return flags;
}

/**
 * In a child started by {@link runWithBoundedHeap} (it has an IPC channel): exit at once
 * when the parent is gone.
 */
export function exitWithParent(): void {
  if (!process.channel) return;
  process.once("disconnect", () => process.exit(128 + constants.signals.SIGKILL));
  // The channel must not keep the process alive by itself.
  process.channel.unref();
}
