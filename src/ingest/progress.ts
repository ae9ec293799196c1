import type { IngestProgress } from "./ingest";

export interface ProgressTotals {
  files: number;
  bytes: number;
}

/**
 * Ingest progress on stderr: on a terminal, one line redrawn in place (files and bytes
 * done, records/s, ETA); otherwise a plain line every few seconds, for logs.
 */
export class ProgressReporter {
  private last = 0;
  private drawn = false;

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly totals: ProgressTotals,
    private readonly intervalMs = out.isTTY ? 200 : 5000,
  ) {}

  update(progress: IngestProgress): void {
    const now = Date.now();
    if (now - this.last < this.intervalMs) return;
    this.last = now;
    const line = describe(progress, this.totals);
    if (this.out.isTTY) {
      this.out.write(`\r${bar(progress.bytesDone / Math.max(this.totals.bytes, 1))} ${line}\u001b[K`);
      this.drawn = true;
    } else {
      this.out.write(`[trailgraph] ${line}\n`);
    }
  }

  /** Leaves the terminal on a fresh line. */
  done(): void {
    if (this.drawn) this.out.write("\r\u001b[K");
  }
}

export function describe(progress: IngestProgress, totals: ProgressTotals): string {
  const seconds = progress.elapsedMs / 1000;
  const rate = progress.read / Math.max(seconds, 0.001);
  const fraction = totals.bytes > 0 ? progress.bytesDone / totals.bytes : 0;
  const eta = fraction > 0.001 ? (seconds / fraction) * (1 - fraction) : NaN;
  return (
    `${progress.filesDone}/${totals.files} files, ${mb(progress.bytesDone)}/${mb(totals.bytes)}, ` +
    `${progress.read} records, ${Math.round(rate)} records/s` +
    (Number.isFinite(eta) ? `, ETA ${duration(eta)}` : "")
  );
}

function bar(fraction: number): string {
  const width = 24;
  const filled = Math.max(0, Math.min(width, Math.round(fraction * width)));
  return `[${"#".repeat(filled)}${".".repeat(width - filled)}]`;
}

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function duration(seconds: number): string {
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
}
