import { createHash, type Hash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { basename, join, sep } from "node:path";
import { Readable, Transform } from "node:stream";
import { readRecords, type RawRecord } from "./formats/read-records";

/**
 * Where events come from: files, standard input and HTTP bodies today. An OSS bucket or an
 * SLS consumer group is another implementation of this interface; the writer is unchanged.
 */
export interface EventSource {
  /** Printable name for messages and rejects (a path, `-`, `http:<request>`). */
  readonly name: string;
  /** Owner of events that name no account of their own (from the OSS delivery path). */
  readonly defaultAccountId: string | null;
  /** Bytes the source holds, when known (for progress). */
  readonly size: number | null;
  /** Records in order; throws InputError when the input is damaged part way. */
  records(): AsyncIterable<RawRecord>;
  /** Bytes read so far (compressed, as stored). */
  bytesRead(): number;
}

/** Counts and hashes bytes on their way to the reader. */
class Tap extends Transform {
  bytes = 0;
  readonly hash: Hash = createHash("md5");

  _transform(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null, data?: Buffer) => void): void {
    this.bytes += chunk.length;
    this.hash.update(chunk);
    callback(null, chunk);
  }
}

/** A readable stream as a source: a file, standard input, an HTTP body. */
export class StreamSource implements EventSource {
  // Made when reading starts: a folder may hold tens of thousands of sources.
  private tap: Tap | null = null;
  private digest: string | null = null;

  constructor(
    readonly name: string,
    private readonly open: () => Readable,
    readonly size: number | null = null,
    readonly defaultAccountId: string | null = null,
  ) {}

  async *records(): AsyncIterable<RawRecord> {
    const tap = (this.tap = new Tap());
    const input = this.open();
    input.on("error", (error) => tap.destroy(error));
    yield* readRecords(input.pipe(tap));
    this.digest = tap.hash.digest("hex");
  }

  bytesRead(): number {
    return this.tap?.bytes ?? 0;
  }

  /** md5 of every byte read, once the records have been read to the end. */
  md5(): string | null {
    return this.digest;
  }
}

/** A file on disk. */
export class FileSource extends StreamSource {
  constructor(
    readonly path: string,
    size: number,
    defaultAccountId: string | null = accountFromOssPath(path),
  ) {
    super(path, () => createReadStream(path), size, defaultAccountId);
  }
}

/** A whole document in memory (tests, small HTTP bodies). */
export function bufferSource(
  name: string,
  body: Buffer | string,
  defaultAccountId: string | null = null,
): StreamSource {
  const buffer = typeof body === "string" ? Buffer.from(body, "utf8") : body;
  return new StreamSource(name, () => Readable.from([buffer]), buffer.length, defaultAccountId);
}

/**
 * The account in a multi-account OSS delivery path,
 * `.../AliyunLogs/Actiontrail/<rd_id>/<accountId>/<region>/YYYY/MM/DD/<file>`; null for the
 * single-account layout (`.../Actiontrail/<region>/YYYY/MM/DD/<file>`) and other paths.
 */
export function accountFromOssPath(path: string): string | null {
  const parts = path.split(/[\\/]+/);
  const root = parts.lastIndexOf("Actiontrail");
  if (root < 0 || parts[root - 1] !== "AliyunLogs") return null;
  // The date folders: YYYY/MM/DD right before the file.
  const year = parts.length - 4;
  if (!/^\d{4}$/.test(parts[year] ?? "") || !/^\d{2}$/.test(parts[year + 1]) || !/^\d{2}$/.test(parts[year + 2])) {
    return null;
  }
  const between = parts.slice(root + 1, year);
  // [region] in the single-account layout, [rd_id, accountId, region] in the multi-account one.
  return between.length === 3 && between[1] !== "" ? between[1] : null;
}

/** The md5 an OSS delivery file name carries (`..._<count>_<size>_<md5>.gz`), if any. */
export function md5FromOssName(path: string): string | null {
  const match = /^Actiontrail_.+_(\d+)_(\d+)_([0-9a-f]{32})\.gz$/i.exec(basename(path));
  return match ? match[3].toLowerCase() : null;
}

export interface FoundFile {
  path: string;
  size: number;
  /** Last modification time, ms since the epoch (`--follow` notices a file rewritten in place). */
  mtimeMs: number;
}

/**
 * Documentation found while walking a folder is not taken for a delivery: files named
 * `*.md`, `*.markdown`, `*.rst` or `*.txt`, and README, LICENSE, LICENCE, COPYING, NOTICE or
 * CHANGELOG with any extension (`samples/README.md` beside `samples/events.json`). A format
 * is told from content, never from a name; this rule only keeps a walk from rejecting a
 * folder's read-me as broken JSON. A file named explicitly is read whatever its name.
 */
export function isDocumentationName(name: string): boolean {
  return /\.(md|markdown|rst|txt)$/i.test(name) || /^(readme|licen[cs]e|copying|notice|changelog)(\.|$)/i.test(name);
}

export interface ExpandOptions {
  /** Called for each file a folder walk leaves out as documentation (see isDocumentationName). */
  onNotEventFile?: (path: string) => void;
}

/**
 * Files named by the arguments: files as given, folders walked recursively (sorted, so
 * runs are repeatable; hidden entries skipped, documentation left out and reported through
 * `onNotEventFile`). Throws for a path that does not exist.
 */
export async function expandPaths(paths: readonly string[], options: ExpandOptions = {}): Promise<FoundFile[]> {
  const found: FoundFile[] = [];
  const walk = async (path: string, explicit: boolean): Promise<void> => {
    let info;
    try {
      info = await stat(path);
    } catch (error) {
      if (!explicit) return;
      throw new Error(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    if (info.isDirectory()) {
      const entries = (await readdir(path)).filter((name) => !name.startsWith(".")).sort();
      for (const name of entries) await walk(join(path, name), false);
    } else if (!info.isFile()) {
      if (explicit) throw new Error(`${path} is neither a file nor a folder`);
    } else if (!explicit && isDocumentationName(basename(path))) {
      options.onNotEventFile?.(path);
    } else {
      found.push({ path, size: info.size, mtimeMs: info.mtimeMs });
    }
  };
  for (const path of paths) await walk(path.endsWith(sep) && path.length > 1 ? path.slice(0, -1) : path, true);
  return found;
}
