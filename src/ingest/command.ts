import { createWriteStream, type WriteStream } from "node:fs";
import { constants } from "node:os";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import type { DataSource } from "typeorm";
import { storeConfig } from "../db/datasource";
import { databaseFault } from "../db/faults";
import { openStore } from "../db/open";
import { UsageError } from "../usage-error";
import { DEFAULT_INGEST_HEAP_MB } from "./bounded-heap";
import { emptySummary, ingest, md5OfFile, pathKey, type IngestSummary, type Rejection } from "./ingest";
import { ProgressReporter } from "./progress";
import { expandPaths, FileSource, StreamSource, type EventSource, type FoundFile } from "./sources";
import { EventWriter } from "./writer";

export { UsageError };

export const INGEST_USAGE = `trailgraph ingest [options] <file|folder|->...
  Loads ActionTrail events: OSS delivery files (gzip JSON arrays, folders walked), JSON
  arrays, single events, JSON lines, SLS records, LookupEvents responses; - reads stdin.
  A folder walk skips documentation (*.md, *.txt, *.rst, README, LICENSE...); name it to read it.
  --account ID       owner of events that name no account (and come from no OSS account path)
  --rejects FILE     where rejected records go, as JSON lines (default trailgraph-rejects.jsonl)
  --force            read files again even if they were ingested whole before
  --follow           keep watching the folders and ingest new files as they appear
  --interval S       seconds between scans with --follow (default 10)
  --batch-size N     events per transaction (default 1000)
  --json             print the summary as JSON
  --quiet            print nothing but errors
  --migrate          apply pending migrations first (MySQL)
Exit code: 0 all ingested, 1 some records rejected or a file damaged, 2 usage or connection error,
  130/143 stopped by SIGINT/SIGTERM before every input was read (run it again to finish).
Runs in a child process with a V8 heap of TRAILGRAPH_INGEST_HEAP_MB (default ${DEFAULT_INGEST_HEAP_MB}) MB.`;

/** --follow: the first pause after a scan failed on a database fault, doubled up to the second. */
export const RETRY_FIRST_MS = 1_000;
export const RETRY_MAX_MS = 30_000;

/** A second SIGINT/SIGTERM this soon after the first is the same request, delivered twice. */
const REPEAT_MS = 1000;

/** `trailgraph ingest`: returns the exit code. */
export async function ingestCommand(args: string[], log: (message: string) => void): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      account: { type: "string" },
      rejects: { type: "string" },
      force: { type: "boolean" },
      follow: { type: "boolean" },
      interval: { type: "string" },
      "batch-size": { type: "string" },
      json: { type: "boolean" },
      quiet: { type: "boolean" },
      migrate: { type: "boolean" },
    },
  });
  if (positionals.length === 0) throw new UsageError("ingest needs at least one file, folder or -");
  const batchSize = positiveNumber(values["batch-size"] ?? "1000", "--batch-size");
  const interval = positiveNumber(values.interval ?? "10", "--interval");
  if (values.follow && positionals.includes("-")) throw new UsageError("--follow watches folders; it cannot read -");
  // Check every path before touching the store, so a typo costs nothing.
  // Documentation a folder walk left out: said in the summary, never counted as rejects.
  const notEventFiles = new Set<string>();
  const files = await expandPaths(
    positionals.filter((path) => path !== "-"),
    { onNotEventFile: (path) => notEventFiles.add(path) },
  ).catch((error: Error) => {
    throw new UsageError(error.message);
  });

  const quiet = Boolean(values.quiet);
  // No server-side statement limit: a large batch on a busy server is slow, not a fault, and
  // cutting it would only make every retry fail the same way.
  const store = await openStore(storeConfig(undefined, { timeouts: { statementMs: 0 } }), {
    migrate: values.migrate,
    log: quiet ? undefined : log,
  });
  const rejects = new RejectsFile(resolve(values.rejects ?? "trailgraph-rejects.jsonl"));
  const stop = new AbortController();
  let stoppedBy: NodeJS.Signals | null = null;
  let stoppedAt = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stoppedBy === null) {
      stoppedBy = signal;
      stoppedAt = Date.now();
      stop.abort();
      return;
    }
    // The same stop request twice: a terminal's Ctrl-C also reaches the parent that runs this
    // command with a bounded heap (src/ingest/bounded-heap.ts), and the parent passes it on.
    if (Date.now() - stoppedAt < REPEAT_MS) return;
    // Asked again, later: stop now, as an unhandled signal would (the open transaction is
    // rolled back; a re-run finishes the work).
    process.exit(128 + (constants.signals[signal] ?? 0));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    const options = {
      defaultAccountId: values.account ?? null,
      batchSize,
      force: Boolean(values.force),
      onReject: (rejection: Rejection) => rejects.write(rejection),
      signal: stop.signal,
    };
    const summary = values.follow
      ? await follow(
          store.dataSource,
          positionals,
          interval,
          options,
          stop.signal,
          notEventFiles,
          quiet ? () => {} : log,
        )
      : await runOnce(store.dataSource, positionals, files, options, quiet);
    await rejects.close();
    report(summary, {
      json: Boolean(values.json),
      quiet,
      target: store.config.display,
      rejectsFile: rejects,
      notEventFiles: [...notEventFiles],
    });
    // --follow stops on a signal by design. A single run stopped before it read every input
    // must not exit 0, which says that everything was ingested.
    const inputs = files.length + positionals.filter((path) => path === "-").length;
    const unread = inputs - summary.files - summary.skipped;
    if (!values.follow && stoppedBy !== null && unread > 0) {
      process.stderr.write(
        `interrupted by ${stoppedBy}: ${unread} of ${inputs} input(s) not read; ` +
          "run the same command again to finish (files ingested whole are skipped)\n",
      );
      return 128 + (constants.signals[stoppedBy as NodeJS.Signals] ?? 0);
    }
    return summary.rejected > 0 || summary.damaged.length > 0 ? 1 : 0;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await rejects.close();
    await store.dataSource.destroy();
  }
}

async function runOnce(
  dataSource: DataSource,
  positionals: string[],
  files: Array<{ path: string; size: number }>,
  options: Parameters<typeof ingest>[2],
  quiet: boolean,
): Promise<IngestSummary> {
  const sources: EventSource[] = [];
  for (const arg of positionals) {
    if (arg === "-") sources.push(new StreamSource("-", () => process.stdin));
  }
  sources.unshift(...files.map((file) => new FileSource(file.path, file.size)));
  const progress = quiet
    ? null
    : new ProgressReporter(process.stderr, {
        files: sources.length,
        bytes: files.reduce((sum, file) => sum + file.size, 0),
      });
  try {
    return await ingest(dataSource, sources, { ...options, onProgress: (p) => progress?.update(p) });
  } finally {
    progress?.done();
  }
}

/**
 * Watches folders: every `interval` seconds, ingests the files that are new or changed and
 * whose size and modification time held still since the previous scan (a file still being
 * copied waits). What was ingested is recorded in the store, so a restart re-reads nothing.
 */
async function follow(
  dataSource: DataSource,
  folders: string[],
  interval: number,
  options: Parameters<typeof ingest>[2],
  signal: AbortSignal,
  notEventFiles: Set<string>,
  log: (message: string) => void,
): Promise<IngestSummary> {
  const writer = new EventWriter(dataSource);
  const total = emptySummary();
  let previous = new Map<string, FoundFile>();
  // Every file this run has taken (read, found already ingested, or found damaged), as it was
  // then: it is looked at again only once its size or modification time changes. A damaged
  // file (a truncated gzip...) is not recorded as ingested, and is read again only once it
  // changes (a complete copy delivered), not on every scan.
  const taken = new Map<string, FoundFile>();
  log(`following ${folders.join(", ")} every ${interval} s (Ctrl-C stops)`);
  const sayLeftOut = (paths: string[]) => {
    if (paths.length > 0) log(`skipped ${paths.length} file(s) as not event files: ${listed(paths)}`);
  };
  sayLeftOut([...notEventFiles]);
  // A database that stops answering (restarted, unreachable) does not end the watch: the scan
  // is given up with one line, and tried again after a pause that doubles up to RETRY_MAX_MS.
  // What a failed scan did not record as ingested is read again; event IDs are unique, so
  // nothing is stored twice.
  let retryMs = 0;
  while (!signal.aborted) {
    try {
      const known = await writer.completedFiles();
      const leftOut: string[] = [];
      const found = await expandPaths(folders, {
        onNotEventFile: (path) => {
          if (!notEventFiles.has(path)) leftOut.push(path);
          notEventFiles.add(path);
        },
      });
      sayLeftOut(leftOut);
      const fresh: FoundFile[] = [];
      // Changed since this run took them, to the same size as the ingested copy: only their
      // content tells (the md5 an OSS name carries describes the old copy as well).
      const rewritten: FoundFile[] = [];
      for (const file of found) {
        if (!sameStamp(previous.get(file.path), file) || sameStamp(taken.get(file.path), file)) continue;
        const done = known.get(pathKey(file.path));
        if (done?.size !== file.size) {
          fresh.push(file);
        } else if (!taken.has(file.path)) {
          // Ingested whole before this run started: a restart reads nothing again.
          taken.set(file.path, file);
        } else if ((await md5OfFile(file.path)) !== done.md5) {
          rewritten.push(file);
        } else {
          // Touched, not changed.
          taken.set(file.path, file);
        }
      }
      previous = new Map(found.map((file) => [file.path, file]));
      const groups = [
        { files: fresh, what: "new", force: options?.force },
        { files: rewritten, what: "changed", force: true },
      ];
      for (const { files, what, force } of groups) {
        if (files.length === 0 || signal.aborted) continue;
        const summary = await ingest(
          dataSource,
          files.map((file) => new FileSource(file.path, file.size)),
          { ...options, force },
        );
        add(total, summary);
        for (const file of files) taken.set(file.path, file);
        log(`${summary.files} ${what} file(s): ${summary.inserted} new events, ${summary.rejected} rejected`);
      }
      if (retryMs > 0) log("the database answers again; following resumed");
      retryMs = 0;
    } catch (error) {
      const fault = databaseFault(error);
      if (!fault) throw error;
      retryMs = retryMs === 0 ? RETRY_FIRST_MS : Math.min(retryMs * 2, RETRY_MAX_MS);
      const code =
        (error as { driverError?: { code?: string }; code?: string }).driverError?.code ??
        (error as { code?: string }).code;
      log(
        `database ${fault === "unavailable" ? "unavailable" : "statement timed out"}` +
          `${typeof code === "string" ? ` (${code})` : ""}: scan given up, trying again in ${retryMs / 1000} s`,
      );
      await sleep(retryMs, signal);
      continue;
    }
    await sleep(interval * 1000, signal);
  }
  return total;
}

function sameStamp(a: FoundFile | undefined, b: FoundFile): boolean {
  return a !== undefined && a.size === b.size && a.mtimeMs === b.mtimeMs;
}

function add(total: IngestSummary, part: IngestSummary): void {
  total.files += part.files;
  total.skipped += part.skipped;
  total.read += part.read;
  total.inserted += part.inserted;
  total.duplicates += part.duplicates;
  total.rejected += part.rejected;
  total.rejects.push(...part.rejects.slice(0, Math.max(0, 100 - total.rejects.length)));
  total.damaged.push(...part.damaged);
  total.bytes += part.bytes;
  total.elapsedMs += part.elapsedMs;
  total.eventsPerSecond = Math.round(total.read / Math.max(total.elapsedMs / 1000, 0.001));
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolvePromise) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolvePromise();
    }
    signal.addEventListener("abort", done);
  });
}

/** Rejected records as JSON lines; the file is created only when something is rejected. */
class RejectsFile {
  private stream: WriteStream | null = null;
  count = 0;

  constructor(readonly path: string) {}

  write(rejection: Rejection): void {
    this.stream ??= createWriteStream(this.path, { flags: "w" });
    this.count++;
    this.stream.write(`${JSON.stringify(rejection)}\n`);
  }

  close(): Promise<void> {
    const stream = this.stream;
    this.stream = null;
    return stream ? new Promise((resolvePromise) => stream.end(resolvePromise)) : Promise.resolve();
  }
}

function report(
  summary: IngestSummary,
  options: { json: boolean; quiet: boolean; target: string; rejectsFile: RejectsFile; notEventFiles: string[] },
): void {
  const notEventFiles = options.notEventFiles.length;
  if (options.json) {
    // `notEventFiles` (documentation a folder walk left out) only when there was some: the
    // summary of a run that left nothing out keeps the shape it always had.
    process.stdout.write(`${JSON.stringify(notEventFiles ? { ...summary, notEventFiles } : summary)}\n`);
    return;
  }
  for (const damaged of summary.damaged) process.stderr.write(`damaged ${damaged.source}: ${damaged.reason}\n`);
  if (options.quiet) return;
  for (const rejection of summary.rejects) {
    process.stderr.write(`rejected ${rejection.source} ${rejection.position}: ${rejection.reason}\n`);
  }
  if (summary.rejected > summary.rejects.length) {
    process.stderr.write(`... and ${summary.rejected - summary.rejects.length} more rejected\n`);
  }
  const seconds = summary.elapsedMs / 1000;
  process.stdout.write(
    `ingested into ${options.target}: ${summary.files} file(s)` +
      (summary.skipped ? ` (${summary.skipped} already ingested, skipped)` : "") +
      (notEventFiles ? `, ${notEventFiles} not event file(s) skipped (${listed(options.notEventFiles)})` : "") +
      `, ${summary.read} record(s) read, ${summary.inserted} new, ${summary.duplicates} already present, ` +
      `${summary.rejected} rejected in ${seconds.toFixed(1)} s (${summary.eventsPerSecond} records/s)\n`,
  );
  if (options.rejectsFile.count > 0) process.stdout.write(`rejected records: ${options.rejectsFile.path}\n`);
}

/** The first few paths, for a one-line message. */
function listed(paths: string[]): string {
  const shown = 3;
  return paths.slice(0, shown).join(", ") + (paths.length > shown ? ` and ${paths.length - shown} more` : "");
}

function positiveNumber(text: string, flag: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new UsageError(`${flag} '${text}' is not a positive number`);
  return value;
}
