/**
 * Streaming record reader for every delivery format a user points TrailGraph at, detected
 * from the content (never from the file name):
 *
 * - gzip (magic bytes 1f 8b, several members allowed, nested gzip too) is decompressed as a
 *   stream and the content detected again;
 * - a top-level JSON array streams its elements ("element N");
 * - whitespace-separated top-level values (JSON lines, concatenated LookupEvents pages, one
 *   pretty-printed object) are records of their own ("line N", the line where the value
 *   starts; "document" when the input holds exactly one top-level value);
 * - SLS records (`__topic__` + `event` as a JSON string or an object) are unwrapped to their
 *   event, LookupEvents pages (`Events: [...]`) to one record per event ("line 3, Events[4]",
 *   "element 0, Events[2]", or "Events[2]" for a page that is the whole document).
 *
 * Memory stays bounded whatever the input size: a byte-level scanner (string/escape state and
 * bracket depth) finds each record's bytes in the incoming Buffers and only those bytes are
 * decoded and handed to JSON.parse. At most one record (capped at `maxRecordBytes`) plus one
 * input chunk is held; a larger record is reported and skipped without being buffered, and so
 * is a damaged region (only the first TEXT_CAP bytes of either are kept, for its text).
 *
 * Every record found is yielded once: parsed, or as an error with its position, byte offset,
 * text (capped) and a reason. Before it is parsed, a record must be
 * - valid UTF-8 (isUtf8 on its bytes): decoding would replace invalid bytes with U+FFFD and
 *   the record would be stored altered, so the reason gives the byte offset of the first
 *   invalid sequence instead;
 * - nested at most MAX_JSON_DEPTH levels deep (arrays and objects; the record is level 1, and
 *   `{"a":[{}]}` level 3). The scanner counts the levels as it goes: a record more than two
 *   levels deeper is rejected unparsed, its brackets counted (not stacked) to its end whatever
 *   its depth; one or two levels deeper it is parsed and kept only if it is a LookupEvents page
 *   (whose events lie two levels down, so within the limit) or an SLS record whose event
 *   object is within it. An SLS event given as a JSON string is parsed here, its depth left
 *   to the normaliser; a RangeError from JSON.parse (an engine that parses recursively; Node's
 *   does not) gives the same depth reason.
 *
 * Damage is contained. A malformed element or value whose brackets balance (an unquoted masked
 * number, a raw newline inside a string of an array element) costs only itself.
 *
 * Inside a top-level array (the OSS format: one array per file, minified or pretty-printed), a
 * structurally broken element costs only itself too, and the elements after it keep their
 * index:
 * - the damage is seen where JSON allows no such byte: a closing bracket that does not match;
 *   a `{` or `[` inside an object where a key belongs (a `}` is missing before it); a string
 *   whose closing quote is followed by anything but whitespace `,` `:` `}` `]` (a quote is
 *   missing or one too many: the string ran on into the next one); after an element, anything
 *   but `,` or `]`;
 * - an element followed directly by `{` `[` or `"` (a missing `,`) is rejected for that, and
 *   the next element is read from there; an element followed by other bytes is rejected with
 *   them, up to the next `,` or `]` (garbage between elements costs the element before it;
 *   garbage between two commas is an element of its own);
 * - any other damage makes the element an error record whose bytes run on, strings unread (a
 *   quote may be missing), to the first place that reads as the boundary between two object
 *   elements: `}` ws `,` ws `{` ws `"K"` ws `:`, where K is the first key of an element of
 *   this array seen before (read whole, or the damaged one), or the same without its `}` (an
 *   element that lost its end). While no first key is known (or more than 16 distinct ones
 *   are), any key will do, but only after a `}`. A key of at most 128 bytes without escapes
 *   counts. The error record ends at that `}` (or before that `,`), and the element at that
 *   `{` is read as the next one. Bytes before the damage count: a string cut short
 *   (`"Aliy},{"eventId":…`) shows its damage only after running through the boundary, which
 *   is still found. A boundary quoted inside an intact string does not match: its quotes
 *   are escaped.
 * Numbering counts a damaged region as one element: exact when the damage lies within one
 * element, as above. The reason says where reading resumed; byte offsets are always exact.
 * Where it cannot resume, or resumes wrongly:
 * - an array of non-objects has no such boundary: the damage costs the rest of the array (to
 *   the end of the input, or to a `{` or `[` in column 0, as below); so does damage in the
 *   last element;
 * - an element cut short right before the next one, with no `,` between (`"Aliy{"eventId"…`),
 *   takes that one into its error record: the elements after it are numbered one low;
 * - while no first key is known, a nested array of objects after the damage (`[{"k":1},
 *   {"k":2}]`) is taken for the array: its second object is read as an element, its `]` as
 *   the array's end, the rest as top-level values (errors); with a known key, only if the
 *   nested objects start with that key;
 * - a stray `}` that closes an element early makes its first part the element (stored when it
 *   is valid JSON) and the rest a damaged element of its own, numbered one high after; a stray
 *   `]` ends the array, and the elements after it are read as top-level values ("line N").
 *
 * Elsewhere (JSON lines, concatenated values, one document), a broken structure (an
 * unterminated string, a mismatched bracket, a JSON line cut short) costs the bytes up to the
 * next line that starts, in column 0, with `{` or `[`: that is where the next value starts in
 * JSON lines, and pretty-printers indent everything nested. Those bytes are one error record.
 * In detail:
 * - outside an array, a raw newline inside a string ends the top-level value there (JSON
 *   strings hold none);
 * - a `{` or `[` in column 0 while a value is open ends it there too (an array's damaged
 *   element as well: JSON lines of arrays), unless the line before ended with `,` `[` or `:`
 *   and the input has not shown itself to be JSON lines yet (a top-level value that fits on
 *   its line): pretty-printing without indentation looks so.
 * A damaged or truncated gzip ends the input: the records read before are yielded, then the
 * iteration throws an {@link InputError}. (A truncated file loses nothing zlib could decode; on
 * a checksum error or garbage after a member, zlib drops the output of its last pass, under
 * 64 KiB, so the records in it are not yielded.) An error of the input stream itself is
 * rethrown as it is, also after the records read before it.
 *
 * Not handled: SLS CSV exports, zip/bzip2/xz/zstd archives and UTF-16 text (an
 * {@link InputError} says so for the containers), streaming the `Events` array of a single
 * LookupEvents page larger than `maxRecordBytes` (pages hold 50 events, so a page is parsed
 * whole), and resynchronising JSON lines indented with leading whitespace after a line cut
 * outside a string (the lines after it may be lost in its error record).
 */
import { isUtf8 } from "node:buffer";
import { createGunzip } from "node:zlib";
import { MAX_JSON_DEPTH } from "../limits";

export interface RawRecord {
  /** A parsed value (an event candidate), or the reason it could not be read. */
  value?: unknown;
  error?: string;
  /** Human position: "element 12" (index in a top-level array), "line 40" (JSON lines), "document", "line 3, Events[4]" (an event inside a LookupEvents page), ... */
  position: string;
  /** Byte offset of the record's first byte in the (decompressed) input, when known. */
  byteOffset?: number;
  /** The record's raw text, for rejected records (capped, e.g. 64 KiB, with a note when cut). */
  text?: string;
}

export interface ReadRecordsOptions {
  /** A record (array element or top-level value) larger than this is rejected unread. Default 16 MiB. */
  maxRecordBytes?: number;
}

/**
 * Damage that ends the input (a truncated or corrupt gzip, an unsupported container). The
 * records read before it were yielded; the message says how far reading got.
 */
export class InputError extends Error {
  constructor(
    message: string,
    /** Bytes of (decompressed) content read before the damage. */
    readonly bytesRead = 0,
    /** Records yielded before the damage. */
    readonly recordsRead = 0,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "InputError";
  }
}

export const DEFAULT_MAX_RECORD_BYTES = 16 * 1024 * 1024;
/** Rejected records carry at most this many bytes of their text. */
export const TEXT_CAP = 64 * 1024;

/** Large input chunks are scanned in slices of this size, so that one slice's records are held at a time. */
const FEED_SLICE = 1024 * 1024;
/** Bytes looked at before the content is classified (gzip, BOM, unsupported containers). */
const SNIFF_BYTES = 8;
/** Nested gzip (a .gz of a .gz) is decompressed up to this depth. */
const MAX_GZIP_LAYERS = 4;

/**
 * Reads records from a byte stream (a file, stdin, an HTTP body, an OSS object) in bounded
 * memory. Chunks may be Buffers, Uint8Arrays or strings; they must not be reused by the
 * producer after being handed over.
 */
export async function* readRecords(
  input: AsyncIterable<Buffer | Uint8Array | string> | Iterable<Buffer | Uint8Array | string> | NodeJS.ReadableStream,
  options: ReadRecordsOptions = {},
): AsyncGenerator<RawRecord, void, undefined> {
  const maxRecordBytes = options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
  if (!(maxRecordBytes > 0)) throw new RangeError(`maxRecordBytes must be positive, got ${maxRecordBytes}`);
  let reader: ChunkReader = new IteratorReader(input);
  const splitter = new Splitter(maxRecordBytes);
  const records: RawRecord[] = [];
  let count = 0;
  try {
    try {
      let head = await sniff(reader);
      for (let layers = 0; isGzip(head.bytes); layers++) {
        if (layers === MAX_GZIP_LAYERS) throw new InputError(`gzip nested more than ${MAX_GZIP_LAYERS} levels deep`);
        reader = new GunzipReader(head.reader);
        head = await sniff(reader);
      }
      const unsupported = unsupportedContainer(head.bytes);
      if (unsupported) throw new InputError(`${unsupported}: not supported (expected JSON, JSON lines or gzip)`);
      reader = head.reader;
      for (;;) {
        const chunk = await reader.read();
        if (chunk === undefined) break;
        for (let from = 0; from < chunk.length; from += FEED_SLICE) {
          splitter.feed(chunk.length <= FEED_SLICE ? chunk : chunk.subarray(from, from + FEED_SLICE));
          for (const span of splitter.take()) toRecords(span, records);
          for (const record of records) {
            count++;
            yield record;
          }
          records.length = 0;
        }
      }
      splitter.finish();
    } catch (error) {
      // Everything completely read before the damage (or a failure of the input) is yielded;
      // the record it cut is not.
      const cut = splitter.openRecordPosition();
      splitter.flushHeld();
      for (const span of splitter.take()) toRecords(span, records);
      for (const record of records) {
        count++;
        yield record;
      }
      records.length = 0;
      if (!(error instanceof GunzipFailure)) throw error;
      const bytes = splitter.bytesRead;
      throw new InputError(
        `damaged or truncated gzip data (${error.cause instanceof Error ? error.cause.message : String(error.cause)}) ` +
          `after ${bytes} decompressed bytes and ${count} record${count === 1 ? "" : "s"}` +
          (cut ? `; the record at ${cut} is cut off` : ""),
        bytes,
        count,
        { cause: error.cause },
      );
    }
    for (const span of splitter.take()) toRecords(span, records);
    for (const record of records) yield record;
  } finally {
    reader.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Bytes in: the input's chunks, gzip, content sniffing.

interface ChunkReader {
  /** The next chunk, or undefined at the end. */
  read(): Promise<Buffer | undefined>;
  /** Stops reading and releases the source (idempotent). */
  close(): void;
}

function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (typeof chunk === "string") return Buffer.from(chunk, "utf8");
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw new TypeError(`readRecords: expected Buffer, Uint8Array or string chunks, got ${typeof chunk}`);
}

class IteratorReader implements ChunkReader {
  private readonly iterator: AsyncIterator<unknown> | Iterator<unknown>;
  private done = false;

  constructor(private readonly input: AsyncIterable<unknown> | Iterable<unknown> | NodeJS.ReadableStream) {
    const source = input as Partial<AsyncIterable<unknown> & Iterable<unknown>>;
    const asyncIterator = source[Symbol.asyncIterator];
    const syncIterator = source[Symbol.iterator];
    if (typeof asyncIterator === "function") this.iterator = asyncIterator.call(input);
    else if (typeof syncIterator === "function" && !Buffer.isBuffer(input) && typeof input !== "string") {
      this.iterator = syncIterator.call(input);
    } else throw new TypeError("readRecords: the input must be a readable stream or an (async) iterable of chunks");
  }

  async read(): Promise<Buffer | undefined> {
    if (this.done) return undefined;
    for (;;) {
      const result = await this.iterator.next();
      if (result.done) {
        this.done = true;
        return undefined;
      }
      const chunk = toBuffer(result.value);
      if (chunk.length > 0) return chunk;
    }
  }

  close(): void {
    if (this.done) return;
    this.done = true;
    // Stop the producer, as `for await` would when left early.
    Promise.resolve(this.iterator.return?.()).catch(() => {});
    const destroy = (this.input as { destroy?: unknown }).destroy;
    if (typeof destroy === "function") destroy.call(this.input);
  }
}

/** Yields `head` first, then the rest of `source`. */
class PrefixedReader implements ChunkReader {
  constructor(
    private head: Buffer | undefined,
    private readonly source: ChunkReader,
  ) {}

  read(): Promise<Buffer | undefined> {
    const head = this.head;
    if (head === undefined) return this.source.read();
    this.head = undefined;
    return Promise.resolve(head);
  }

  close(): void {
    this.source.close();
  }
}

/** Reads the first bytes (at least SNIFF_BYTES unless the input is shorter) without consuming them. */
async function sniff(source: ChunkReader): Promise<{ bytes: Buffer; reader: ChunkReader }> {
  const parts: Buffer[] = [];
  let length = 0;
  while (length < SNIFF_BYTES) {
    const chunk = await source.read();
    if (chunk === undefined) break;
    parts.push(chunk);
    length += chunk.length;
  }
  const bytes = parts.length === 1 ? parts[0] : Buffer.concat(parts);
  return { bytes, reader: new PrefixedReader(length > 0 ? bytes : undefined, source) };
}

function isGzip(head: Buffer): boolean {
  return head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
}

function unsupportedContainer(head: Buffer): string | undefined {
  const starts = (...bytes: number[]) => bytes.every((byte, index) => head[index] === byte);
  if (starts(0x50, 0x4b, 0x03, 0x04)) return "a zip archive";
  if (starts(0x42, 0x5a, 0x68)) return "bzip2 data";
  if (starts(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00)) return "xz data";
  if (starts(0x28, 0xb5, 0x2f, 0xfd)) return "zstd data";
  if (starts(0xff, 0xfe) || starts(0xfe, 0xff)) return "UTF-16 text";
  return undefined;
}

/** Thrown by GunzipReader when zlib reports damage; readRecords turns it into an InputError. */
class GunzipFailure extends Error {
  constructor(cause: Error) {
    super(cause.message, { cause });
  }
}

/** Decompressed output held before zlib is paused, and the level at which it resumes. */
const GUNZIP_HIGH_WATER = 1024 * 1024;
const GUNZIP_LOW_WATER = 256 * 1024;

/**
 * Streams a gzip source through zlib with back-pressure. Output is collected from 'data'
 * events (not the readable async iterator, which drops buffered output when the stream
 * errors), so everything zlib emitted before a damage is still read.
 */
class GunzipReader implements ChunkReader {
  private readonly zlib = createGunzip({ chunkSize: 64 * 1024 });
  private readonly queue: Buffer[] = [];
  private queued = 0;
  private failure: Error | undefined;
  private sourceError: unknown;
  private ended = false;
  private stopped = false;
  private wake: (() => void) | undefined;

  constructor(private readonly source: ChunkReader) {
    this.zlib.on("data", (chunk: Buffer) => {
      this.queue.push(chunk);
      this.queued += chunk.length;
      if (this.queued >= GUNZIP_HIGH_WATER) this.zlib.pause();
      this.notify();
    });
    this.zlib.on("error", (error: Error) => {
      this.failure ??= error;
      this.notify();
    });
    this.zlib.on("end", () => {
      this.ended = true;
      this.notify();
    });
    void this.pump();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private async pump(): Promise<void> {
    try {
      for (;;) {
        const chunk = await this.source.read();
        if (this.stopped || this.failure) return;
        if (chunk === undefined) {
          this.zlib.end();
          return;
        }
        if (!this.zlib.write(chunk)) await this.drained();
      }
    } catch (error) {
      this.sourceError ??= error ?? new Error("input failed");
      this.notify();
    }
  }

  private drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.zlib.off("drain", done);
        this.zlib.off("error", done);
        this.zlib.off("close", done);
        resolve();
      };
      this.zlib.on("drain", done);
      this.zlib.on("error", done);
      this.zlib.on("close", done);
    });
  }

  async read(): Promise<Buffer | undefined> {
    for (;;) {
      if (this.queue.length > 0) {
        const chunk = this.queue.shift() as Buffer;
        this.queued -= chunk.length;
        if (this.queued < GUNZIP_LOW_WATER && this.zlib.isPaused()) this.zlib.resume();
        return chunk;
      }
      if (this.sourceError !== undefined) throw this.sourceError;
      if (this.failure) throw new GunzipFailure(this.failure);
      if (this.ended || this.stopped) return undefined;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  close(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.zlib.destroy();
    this.source.close();
    this.notify();
  }
}

// ---------------------------------------------------------------------------------------------
// Records out: spans of bytes, parsed and unwrapped.

/** One record found by the splitter: bytes to parse, or an error with the bytes it covers. */
interface Span {
  position: string;
  byteOffset: number;
  /** The record's full length in bytes (its retained bytes may be a prefix of it). */
  size: number;
  bytes: Buffer | undefined;
  start: number;
  end: number;
  error: string | undefined;
  /** The only top-level value of the input. */
  document: boolean;
  /**
   * Nested deeper than MAX_JSON_DEPTH (by at most WRAPPER_LEVELS): acceptable only for a
   * LookupEvents page or an SLS record, whose events sit one or two levels down.
   */
  overDepth: boolean;
}

/** The reason given to a record nested deeper than MAX_JSON_DEPTH (the normaliser gives the same). */
const DEPTH_REASON = `nested more than ${MAX_JSON_DEPTH} levels deep (arrays and objects); at most ${MAX_JSON_DEPTH} can be stored`;

function toRecords(span: Span, out: RawRecord[]): void {
  const position = span.document ? "document" : span.position;
  if (span.error !== undefined) {
    const record: RawRecord = { error: span.error, position, byteOffset: span.byteOffset };
    if (span.bytes !== undefined && span.end > span.start) {
      record.text = capText(span.bytes, span.start, span.end, span.size);
    }
    out.push(record);
    return;
  }
  const bytes = span.bytes as Buffer;
  // Decoding would replace invalid bytes with U+FFFD: the record would be stored altered.
  if (!isUtf8(bytes.subarray(span.start, span.end))) {
    reject(span, position, notUtf8(bytes, span.start, span.end, span.byteOffset), out);
    return;
  }
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString("utf8", span.start, span.end));
  } catch (error) {
    reject(span, position, isStackOverflow(error) ? DEPTH_REASON : `not valid JSON: ${(error as Error).message}`, out);
    return;
  }
  if (span.overDepth && !holdsEvents(value)) {
    reject(span, position, DEPTH_REASON, out);
    return;
  }
  unwrap(value, position, span.document, span.byteOffset, span.overDepth, out);
}

function reject(span: Span, position: string, error: string, out: RawRecord[]): void {
  const bytes = span.bytes as Buffer;
  out.push({ error, position, byteOffset: span.byteOffset, text: capText(bytes, span.start, span.end, span.size) });
}

/** JSON.parse ran out of stack (an engine that parses recursively, on a value nested thousands deep). */
function isStackOverflow(error: unknown): boolean {
  return error instanceof RangeError && /call stack/i.test(error.message);
}

/** A LookupEvents page or an SLS record: `unwrap` gives its events rather than itself. */
function holdsEvents(value: unknown): boolean {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
  const object = value as Record<string, unknown>;
  return Array.isArray(object.Events) || (Object.hasOwn(object, "__topic__") && Object.hasOwn(object, "event"));
}

/**
 * SLS records give their event; LookupEvents pages give one record per event; anything else is
 * itself. `overDepth`: the record is nested deeper than MAX_JSON_DEPTH, by at most
 * WRAPPER_LEVELS (the scanner rejected deeper ones): a page's events are two levels down, so
 * within the limit; an SLS record's event object is one level down, so it is measured.
 */
function unwrap(
  value: unknown,
  position: string,
  document: boolean,
  byteOffset: number,
  overDepth: boolean,
  out: RawRecord[],
): void {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    const object = value as Record<string, unknown>;
    const events = object.Events;
    if (Array.isArray(events)) {
      const prefix = document ? "Events[" : `${position}, Events[`;
      for (let index = 0; index < events.length; index++) {
        out.push({ value: events[index], position: `${prefix}${index}]`, byteOffset });
      }
      return;
    }
    if (Object.hasOwn(object, "__topic__") && Object.hasOwn(object, "event")) {
      const event = object.event;
      if (typeof event === "string") {
        // A string event's depth is not the scanner's to see: the normaliser measures it.
        try {
          out.push({ value: JSON.parse(event), position, byteOffset });
        } catch (error) {
          out.push({
            error: isStackOverflow(error)
              ? DEPTH_REASON
              : `SLS record's event field is not valid JSON: ${(error as Error).message}`,
            position,
            byteOffset,
            text: capString(event),
          });
        }
      } else if (overDepth && deeperThan(event, MAX_JSON_DEPTH)) {
        out.push({ error: DEPTH_REASON, position, byteOffset, text: capString(JSON.stringify(event)) });
      } else {
        out.push({ value: event, position, byteOffset });
      }
      return;
    }
  }
  out.push({ value, position, byteOffset });
}

/** Whether `root` nests arrays and objects more than `limit` levels deep (itself level 1), walked without recursion. */
function deeperThan(root: unknown, limit: number): boolean {
  if (root === null || typeof root !== "object") return false;
  const nodes: object[] = [root];
  const depths: number[] = [1];
  while (nodes.length > 0) {
    const node = nodes.pop() as object;
    const depth = depths.pop() as number;
    if (depth > limit) return true;
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (child !== null && typeof child === "object") {
        nodes.push(child);
        depths.push(depth + 1);
      }
    }
  }
  return false;
}

/**
 * The reason for `bytes[start, end)`, which isUtf8 refused: where the first invalid sequence
 * starts (in the input, counting from `byteOffset` at `start`), its bytes and what is wrong.
 */
function notUtf8(bytes: Buffer, start: number, end: number, byteOffset: number): string {
  let at = start;
  let length = 1;
  let what = "";
  while (at < end) {
    const lead = bytes[at];
    if (lead < 0x80) {
      at++;
      continue;
    }
    // The well-formed sequences (Unicode, table 3-7): the second byte's range depends on the lead.
    let follow = 0;
    let low = 0x80;
    let high = 0xbf;
    if (lead >= 0xc2 && lead <= 0xdf) follow = 1;
    else if (lead >= 0xe0 && lead <= 0xef) {
      follow = 2;
      if (lead === 0xe0) low = 0xa0;
      else if (lead === 0xed) high = 0x9f;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      follow = 3;
      if (lead === 0xf0) low = 0x90;
      else if (lead === 0xf4) high = 0x8f;
    }
    if (follow === 0) {
      what =
        lead < 0xc0
          ? "a continuation byte with no lead byte"
          : lead < 0xc2
            ? "an overlong encoding"
            : "a byte that never occurs in UTF-8";
      break;
    }
    let k = 1;
    while (k <= follow && at + k < end) {
      const byte = bytes[at + k];
      if (byte < (k === 1 ? low : 0x80) || byte > (k === 1 ? high : 0xbf)) break;
      k++;
    }
    if (k > follow) {
      at += k;
      continue;
    }
    const second = at + 1 < end ? bytes[at + 1] : 0;
    if (k === 1 && second >= 0x80 && second <= 0xbf) {
      length = 2;
      what =
        lead === 0xed ? "a UTF-16 surrogate" : lead === 0xf4 ? "a code point above U+10FFFF" : "an overlong encoding";
    } else {
      length = k;
      what = `a ${follow + 1}-byte sequence cut short`;
    }
    break;
  }
  const shown = Array.from(bytes.subarray(at, Math.min(at + length, end)), (byte) =>
    byte.toString(16).padStart(2, "0"),
  ).join(" ");
  return (
    `not valid UTF-8: invalid byte sequence at byte offset ${byteOffset + at - start} (${shown}: ${what}); ` +
    "records must be UTF-8 text"
  );
}

function cutNote(size: number): string {
  return ` … [cut: the record is ${size} bytes]`;
}

/** The text of `bytes[start, end)`, at most TEXT_CAP bytes (cut at a character boundary). */
function capText(bytes: Buffer, start: number, end: number, size: number): string {
  const stop = Math.min(end, start + TEXT_CAP);
  if (stop === end && size <= end - start) return bytes.toString("utf8", start, end).trimEnd();
  return bytes.toString("utf8", start, characterBoundary(bytes, start, stop)).trimEnd() + cutNote(size);
}

/** `stop`, or less so that `bytes[start, stop)` does not end inside a UTF-8 sequence. */
function characterBoundary(bytes: Buffer, start: number, stop: number): number {
  let lead = stop - 1;
  while (lead > start && lead >= stop - 3 && (bytes[lead] & 0xc0) === 0x80) lead--;
  if (lead < start) return stop;
  const byte = bytes[lead];
  const length = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
  return lead + length > stop ? lead : stop;
}

function capString(text: string): string {
  return text.length > TEXT_CAP ? text.slice(0, TEXT_CAP) + cutNote(Buffer.byteLength(text)) : text;
}

// ---------------------------------------------------------------------------------------------
// The scanner.

const TAB = 0x09;
const NEWLINE = 0x0a;
const RETURN = 0x0d;
const SPACE = 0x20;
const QUOTE = 0x22;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACKET = 0x5b;
const BACKSLASH = 0x5c;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/** Between top-level values. */
const TOP = 0;
/** Inside a streamed top-level array, where an element (or `]`) is expected. */
const ARRAY = 1;
/** Inside a record, outside strings. */
const VALUE = 2;
/** Inside a string of a record. */
const STRING = 3;
/** After a backslash inside a string whose escaped byte is in the next chunk. */
const ESCAPE = 4;
/** Inside a top-level scalar (number, true, false, null). */
const SCALAR = 5;
/** Skipping damaged input until reading can resume. */
const SKIP = 6;
/** After an array element (an object, an array or a string), where `,` or `]` is expected. */
const AFTER = 7;
/** Skipping a damaged element of a top-level array up to the next element (see RS_*). */
const RESYNC = 8;
/** Inside a record nested deeper than the bracket stack: brackets are counted, not matched. */
const DEEP = 9;

/** What scanValue does with a byte: 0 nothing, or one of K_*. */
const K_QUOTE = 1;
const K_COMMA = 2;
const K_OPEN = 3;
const K_CLOSE = 4;
const K_NEWLINE = 5;
const BYTE_KIND = new Uint8Array(256);
BYTE_KIND[QUOTE] = K_QUOTE;
BYTE_KIND[COMMA] = K_COMMA;
BYTE_KIND[OPEN_BRACE] = K_OPEN;
BYTE_KIND[OPEN_BRACKET] = K_OPEN;
BYTE_KIND[CLOSE_BRACE] = K_CLOSE;
BYTE_KIND[CLOSE_BRACKET] = K_CLOSE;
BYTE_KIND[NEWLINE] = K_NEWLINE;

/** The bytes JSON allows right after a string's closing quote. */
const STRING_FOLLOWER = new Uint8Array(256);
for (const byte of [SPACE, TAB, NEWLINE, RETURN, COMMA, COLON, CLOSE_BRACE, CLOSE_BRACKET]) STRING_FOLLOWER[byte] = 1;

/** Levels a LookupEvents page (the page, its `Events` array) puts above its events. */
const WRAPPER_LEVELS = 2;
/** Deepest record handed to JSON.parse; a deeper one is rejected unparsed. */
const MAX_SCANNED_DEPTH = MAX_JSON_DEPTH + WRAPPER_LEVELS;
/** Brackets matched: the top-level array's `[` and MAX_SCANNED_DEPTH levels of its element. */
const STACK_SIZE = MAX_SCANNED_DEPTH + 1;

// Resynchronising inside a top-level array: the pattern [`}` ws] `,` ws `{` ws `"key"` ws `:`
// (the boundary between two object elements), matched byte by byte, across chunks, without
// reading strings. Each phase says what has been matched so far.
/** Looking for `}` or `,`. */
const RS_SEEK = 0;
/** After `}`. */
const RS_CLOSE = 1;
/** After `,` (with or without a `}` before it). */
const RS_COMMA = 2;
/** After `,` `{`: the candidate element begins at that `{`. */
const RS_OPEN = 3;
/** Inside the candidate's first key. */
const RS_KEY = 4;
/** After the key's closing quote. */
const RS_KEY_END = 5;
/** A first key longer than this, or holding an escape, a control character, `,` or `}`, does not resynchronise. */
const MAX_KEY = 128;
/** Bytes from a candidate's `{` to its `:` beyond which it is dropped (whitespace counts). */
const MAX_CANDIDATE = 512;
/** Bytes before the damage searched for the start of the pattern. */
const LOOKBACK = 1024;
/** First keys remembered per array; with more distinct ones, any key is taken. */
const MAX_KEYS = 16;

/** A top-level token longer than this is not a JSON scalar. */
const MAX_SCALAR = 512;
const SCALAR_PATTERN = /^(?:-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)$/;

function isWhitespace(byte: number): boolean {
  return byte === SPACE || byte === NEWLINE || byte === RETURN || byte === TAB;
}

/** Ends a top-level scalar. */
function isDelimiter(byte: number): boolean {
  return (
    isWhitespace(byte) ||
    byte === COMMA ||
    byte === COLON ||
    byte === QUOTE ||
    byte === OPEN_BRACKET ||
    byte === CLOSE_BRACKET ||
    byte === OPEN_BRACE ||
    byte === CLOSE_BRACE
  );
}

/** The index of the last non-whitespace byte of `bytes` at or before `k`, or less than `floor`. */
function skipBack(bytes: Buffer, k: number, floor: number): number {
  while (k >= floor && isWhitespace(bytes[k])) k--;
  return k;
}

function show(byte: number): string {
  return byte >= 0x20 && byte < 0x7f
    ? `'${String.fromCharCode(byte)}'`
    : `byte 0x${byte.toString(16).padStart(2, "0")}`;
}

/**
 * Splits a byte stream into record spans. Fed one Buffer at a time; every piece of state lives
 * in fields, so a record, a string or an escape may be cut anywhere by a chunk boundary. A
 * record's bytes are referenced (not copied) while it lies in one chunk, and concatenated once
 * when it spans several.
 */
class Splitter {
  private readonly out: Span[] = [];
  private state = TOP;
  /** Absolute offset of the current buffer's first byte. */
  private offset = 0;
  private line = 1;
  private depth = 0;
  private readonly stack = new Uint8Array(STACK_SIZE);

  /** The current top-level value is an array whose elements are the records. */
  private inArray = false;
  private arrayLabel = "element ";
  private index = 0;
  /** First keys of this array's object elements seen so far (latin1), for resynchronising. */
  private readonly keys = new Set<string>();
  /** More than MAX_KEYS distinct first keys: any key resynchronises. */
  private keysOverflow = false;
  /** Top-level items begun so far (values, arrays, damaged regions). */
  private topItems = 0;
  /** The first top-level item's record, held back until it is known whether it is the only one. */
  private held: Span | undefined;
  /** Line where the current top-level value began. */
  private topLine = 0;
  /** The last complete top-level value fitted on one line: the input is JSON lines. */
  private linesEvidence = false;

  /** The previous buffer ended with a newline whose next line is not seen yet. */
  private pendingNewline = false;
  private pendingLastByte = 0;
  /** The previous buffer ended with the closing quote of a string inside an array element. */
  private pendingQuote = false;
  /** Last non-whitespace byte of the previous buffers. */
  private tailByte = 0;

  // The open record (a value being read, or a damaged region being skipped).
  private open = false;
  private recStart = 0;
  /** Index in the current buffer where the record's bytes begin (0 when it began earlier). */
  private recFrom = 0;
  private pieces: Buffer[] = [];
  private piecesBytes = 0;
  /** Bytes beyond which only the first TEXT_CAP bytes are kept. */
  private recLimit = 0;
  private recCut = false;
  private recPosition = "";
  private recTop = false;
  /** Why the open array element is not valid JSON, found while its bounds are still known. */
  private recBad: string | undefined;
  /** Nested deeper than MAX_JSON_DEPTH, at most MAX_SCANNED_DEPTH. */
  private recOverDepth = false;
  /** Nested deeper than MAX_SCANNED_DEPTH: rejected unparsed. */
  private recDeep = false;
  private skipReason = "";
  private skipLine = 0;
  private skipAt = 0;

  // Resynchronising (state RESYNC): the phase of the pattern, and where its parts are.
  private rsPhase = RS_SEEK;
  /** Where the damaged element ends if the pattern completes: after its `}`, or at the `,`. */
  private rsEnd = 0;
  /** The pattern began with `}`. */
  private rsBrace = false;
  /** Absolute offset and line of the candidate element's `{`. */
  private rsOpen = 0;
  private rsOpenLine = 0;
  private readonly rsKey = new Uint8Array(MAX_KEY);
  private rsKeyLength = 0;
  /** The candidate's bytes in earlier buffers (from its `{`), to become the element's first bytes. */
  private readonly rsCandidate = new Uint8Array(MAX_CANDIDATE);

  constructor(private readonly maxRecordBytes: number) {}

  get bytesRead(): number {
    return this.offset;
  }

  /** Spans found since the last call. */
  take(): Span[] {
    if (this.out.length === 0) return EMPTY_SPANS;
    return this.out.splice(0, this.out.length);
  }

  /** Where the record being read begins, if one is open. */
  openRecordPosition(): string | undefined {
    if (this.open) return `${this.recPosition} (byte ${this.recStart})`;
    return undefined;
  }

  /** Releases the held first top-level record as it is (input ended by damage). */
  flushHeld(): void {
    if (this.held) this.out.push(this.held);
    this.held = undefined;
  }

  feed(buf: Buffer): void {
    const n = buf.length;
    if (n === 0) return;
    let i = 0;
    if (this.offset === 0 && n >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) i = 3;
    this.recFrom = 0;
    if (this.pendingNewline) {
      this.pendingNewline = false;
      this.lineStart(buf, 0, -1, this.pendingLastByte);
    } else if (this.pendingQuote) {
      this.pendingQuote = false;
      if (this.state === VALUE && STRING_FOLLOWER[buf[0]] === 0) i = this.stringFollowedBy(buf, 0);
    }
    while (i < n) {
      switch (this.state) {
        case STRING:
          i = this.scanString(buf, i);
          break;
        case VALUE:
          i = this.scanValue(buf, i);
          break;
        case TOP:
          i = this.scanTop(buf, i);
          break;
        case ARRAY:
          i = this.scanArray(buf, i);
          break;
        case AFTER:
          i = this.scanAfter(buf, i);
          break;
        case ESCAPE:
          this.state = STRING;
          // A raw newline is no escaped character: the string (the line) was cut after its backslash.
          if (buf[i] !== NEWLINE) i++;
          break;
        case SCALAR:
          i = this.scanScalar(buf, i);
          break;
        case RESYNC:
          i = this.scanResync(buf, i);
          break;
        case DEEP:
          i = this.scanDeep(buf, i);
          break;
        default:
          i = this.scanSkip(buf, i);
      }
    }
    if (this.open) this.keep(buf);
    if (this.state === RESYNC && this.rsPhase >= RS_OPEN) {
      // The candidate's bytes so far, in case it turns out to be the next element.
      const from = Math.max(this.rsOpen - this.offset, 0);
      this.rsCandidate.set(buf.subarray(from, n), this.offset + from - this.rsOpen);
    }
    for (let j = n - 1; j >= 0; j--) {
      if (!isWhitespace(buf[j])) {
        this.tailByte = buf[j];
        break;
      }
    }
    this.offset += n;
  }

  finish(): void {
    const empty = EMPTY_BUFFER;
    this.recFrom = 0;
    this.pendingNewline = false;
    this.pendingQuote = false;
    switch (this.state) {
      case ARRAY:
        this.openRecord(0, false);
        this.closeError(empty, 0, `not valid JSON: the input ends inside the array of line ${this.topLine} (no ']')`);
        break;
      case VALUE:
      case AFTER:
      case DEEP:
        if (this.inArray && this.depth === 1) {
          // The last element looks complete; only the array's ']' is missing.
          this.closeValue(empty, 0);
          this.index++;
          this.openRecord(0, false);
          this.closeError(empty, 0, `not valid JSON: the input ends inside the array of line ${this.topLine} (no ']')`);
        } else {
          const open = this.depth - (this.inArray ? 1 : 0);
          const what = this.inArray ? "this element" : "this value";
          const brackets = `${open} unclosed bracket${open === 1 ? "" : "s"}`;
          this.closeError(empty, 0, `not valid JSON: the input ends inside ${what} (${brackets})`);
        }
        break;
      case STRING:
      case ESCAPE:
        this.closeError(empty, 0, "not valid JSON: the input ends inside a string");
        break;
      case SCALAR:
        this.endScalar(empty, 0);
        if (this.skipping()) this.closeSkip(empty, 0, true);
        break;
      case SKIP:
      case RESYNC:
        this.closeSkip(empty, 0, true);
        break;
    }
    this.state = TOP;
    this.inArray = false;
    this.depth = 0;
    if (this.held) {
      this.held.document = true;
      this.out.push(this.held);
      this.held = undefined;
    }
  }

  // --- the states ------------------------------------------------------------------------

  private scanTop(buf: Buffer, i: number): number {
    const n = buf.length;
    for (; i < n; i++) {
      const c = buf[i];
      if (c === NEWLINE) {
        this.line++;
        continue;
      }
      if (c === SPACE || c === RETURN || c === TAB || c === COMMA) continue;
      this.beginTopItem();
      this.topLine = this.line;
      if (c === OPEN_BRACKET) {
        this.inArray = true;
        this.arrayLabel = this.topItems === 1 ? "element " : `line ${this.line}, element `;
        this.index = 0;
        this.keys.clear();
        this.keysOverflow = false;
        this.stack[0] = OPEN_BRACKET;
        this.depth = 1;
        this.state = ARRAY;
        return i + 1;
      }
      this.openRecord(i, true);
      if (c === OPEN_BRACE) {
        this.stack[0] = OPEN_BRACE;
        this.depth = 1;
        this.state = VALUE;
        return i + 1;
      }
      if (c === QUOTE) {
        this.depth = 0;
        this.state = STRING;
        return i + 1;
      }
      if (c === CLOSE_BRACE || c === CLOSE_BRACKET || c === COLON) {
        this.startSkip(i, `not valid JSON: unexpected ${show(c)}`);
        return i + 1;
      }
      this.state = SCALAR;
      return i;
    }
    return n;
  }

  private scanArray(buf: Buffer, i: number): number {
    const n = buf.length;
    for (; i < n; i++) {
      const c = buf[i];
      if (c === SPACE || c === RETURN || c === TAB) continue;
      if (c === NEWLINE) {
        this.line++;
        if (this.atNewline(buf, i)) return i + 1;
        continue;
      }
      if (c === CLOSE_BRACKET) {
        if (this.index > 0) {
          this.openRecord(i, false);
          this.closeError(buf, i, "not valid JSON: a trailing comma before ']'");
        }
        this.endArray();
        return i + 1;
      }
      if (c === COMMA) {
        this.openRecord(i, false);
        this.closeError(buf, i, "not valid JSON: an empty element (no value before ',')");
        this.index++;
        continue;
      }
      if (c === CLOSE_BRACE) {
        // A damaged region of its own; the `}` may begin the pattern that ends it.
        this.damage(buf, i, `not valid JSON: unexpected ${show(c)}`);
        return i;
      }
      this.openRecord(i, false);
      if (c === QUOTE) {
        this.state = STRING;
        return i + 1;
      }
      if (c === OPEN_BRACE || c === OPEN_BRACKET) {
        this.stack[1] = c;
        this.depth = 2;
        this.state = VALUE;
        return i + 1;
      }
      this.state = VALUE;
      return i;
    }
    return n;
  }

  private scanValue(buf: Buffer, i: number): number {
    const n = buf.length;
    const inArray = this.inArray;
    /** The depth at which the record is complete. */
    const done = inArray ? 1 : 0;
    /** Opening a bracket at this depth nests the record deeper than MAX_JSON_DEPTH. */
    const deepAt = done + MAX_JSON_DEPTH;
    const stack = this.stack;
    let depth = this.depth;
    for (; i < n; i++) {
      const c = buf[i];
      const kind = BYTE_KIND[c];
      if (kind === 0) continue;
      if (kind === K_QUOTE) {
        // The common case, a string that ends in this buffer, is read here; anything else
        // (an escape or newline at the buffer's end, a raw newline) by scanString.
        let j = i + 1;
        for (; j < n; j++) {
          const d = buf[j];
          if (d > BACKSLASH) continue;
          if (d === QUOTE || d === NEWLINE) break;
          if (d === BACKSLASH && buf[j + 1] !== NEWLINE) j++;
        }
        if (j < n && buf[j] === QUOTE) {
          if (inArray) {
            if (depth === 1) {
              // After a scalar, at the array's level: like a string element (see scanString).
              this.depth = depth;
              this.state = AFTER;
              return j + 1;
            }
            // In an element, a string followed by what JSON does not allow there ran on into
            // the next string (a quote missing or one too many): the element is damaged.
            if (j + 1 === n) this.pendingQuote = true;
            else if (STRING_FOLLOWER[buf[j + 1]] === 0) {
              this.depth = depth;
              return this.stringFollowedBy(buf, j + 1);
            }
          }
          i = j;
          continue;
        }
        this.depth = depth;
        this.state = STRING;
        return i + 1;
      }
      if (kind === K_COMMA) {
        if (depth === 1 && inArray) {
          this.depth = depth;
          this.closeValue(buf, i);
          this.index++;
          this.state = ARRAY;
          return i + 1;
        }
        continue;
      }
      if (kind === K_OPEN) {
        // In an element: inside an object a bracket opens a value, after its key's ':'; at the
        // array's level (after a scalar) a new element begins without a ','.
        if (inArray && (stack[depth - 1] === OPEN_BRACE ? !this.followsColon(buf, i) : depth === 1)) {
          this.depth = depth;
          if (depth === 1) this.missingComma(buf, i);
          else this.damage(buf, i, `not valid JSON: unexpected ${show(c)} where a key is expected (is a '}' missing?)`);
          return i;
        }
        if (depth >= deepAt) {
          this.depth = depth;
          if (this.nestDeeper(c)) return i + 1;
          depth = this.depth;
          continue;
        }
        stack[depth++] = c;
        continue;
      }
      if (kind === K_CLOSE) {
        if (stack[depth - 1] !== (c === CLOSE_BRACE ? OPEN_BRACE : OPEN_BRACKET)) {
          this.depth = depth;
          if (inArray) {
            // The mismatched bracket itself may begin the pattern that ends the damage.
            this.damage(buf, i, `not valid JSON: unexpected ${show(c)}`);
            return i;
          }
          this.startSkip(i, `not valid JSON: unexpected ${show(c)}`);
          return i + 1;
        }
        depth--;
        if (depth <= done) {
          this.depth = depth;
          if (depth === 1) {
            // An element of the array is complete.
            this.state = AFTER;
          } else if (inArray) {
            // The ']' of the top-level array ends its last element.
            this.closeValue(buf, i);
            this.index++;
            this.endArray();
          } else {
            this.closeValue(buf, i + 1);
            this.endTopValue();
          }
          return i + 1;
        }
        continue;
      }
      // A newline.
      this.line++;
      this.depth = depth;
      if (this.atNewline(buf, i)) return i + 1;
    }
    this.depth = depth;
    return n;
  }

  /** After an element: `,` or `]`; anything else damages it. */
  private scanAfter(buf: Buffer, i: number): number {
    const n = buf.length;
    for (; i < n; i++) {
      const c = buf[i];
      if (c === SPACE || c === RETURN || c === TAB) continue;
      if (c === NEWLINE) {
        this.line++;
        if (this.atNewline(buf, i)) return i + 1;
        continue;
      }
      if (c === COMMA) {
        this.closeValue(buf, i);
        this.index++;
        this.state = ARRAY;
        return i + 1;
      }
      if (c === CLOSE_BRACKET) {
        this.closeValue(buf, i);
        this.index++;
        this.endArray();
        return i + 1;
      }
      if (c === OPEN_BRACE || c === OPEN_BRACKET || c === QUOTE) {
        this.missingComma(buf, i);
        return i;
      }
      // Garbage after the element: it is part of the element's slot, up to the next ',' or ']'.
      this.recBad ??= `not valid JSON: unexpected ${show(c)} after the element at line ${this.line} (byte ${this.offset + i})`;
      this.state = VALUE;
      return i;
    }
    return n;
  }

  private scanString(buf: Buffer, i: number): number {
    const n = buf.length;
    for (; i < n; i++) {
      const c = buf[i];
      if (c > BACKSLASH) continue;
      if (c === QUOTE) {
        const depth = this.depth;
        if (depth === 0) {
          // A top-level string value.
          this.closeValue(buf, i + 1);
          this.endTopValue();
        } else if (!this.inArray) {
          this.state = depth > MAX_SCANNED_DEPTH ? DEEP : VALUE;
        } else if (depth === 1) {
          // A string element (or a string after a scalar, at the array's level).
          this.state = AFTER;
        } else if (depth > MAX_SCANNED_DEPTH + 1) {
          this.state = DEEP;
        } else {
          this.state = VALUE;
          if (i + 1 === n) this.pendingQuote = true;
          else if (STRING_FOLLOWER[buf[i + 1]] === 0) return this.stringFollowedBy(buf, i + 1);
        }
        return i + 1;
      }
      if (c === BACKSLASH) {
        if (i + 1 < n) {
          // A raw newline is no escaped character: the string (the line) was cut after its backslash.
          if (buf[i + 1] !== NEWLINE) i++;
          continue;
        }
        this.state = ESCAPE;
        return n;
      }
      if (c === NEWLINE) {
        if (!this.inArray) {
          // JSON strings hold no raw newline: in JSON lines the line was cut inside a string.
          this.startSkip(i, "not valid JSON: a string is not closed", this.offset + i);
          return i;
        }
        this.line++;
        if (this.atNewline(buf, i)) return i + 1;
      }
    }
    return n;
  }

  /**
   * Inside a record nested deeper than MAX_SCANNED_DEPTH (rejected, its text capped): brackets
   * are counted to the record's end, without a stack, so any depth takes constant memory.
   */
  private scanDeep(buf: Buffer, i: number): number {
    const n = buf.length;
    /** The deepest level the stack holds: matching resumes there. */
    const floor = (this.inArray ? 1 : 0) + MAX_SCANNED_DEPTH;
    let depth = this.depth;
    for (; i < n; i++) {
      const kind = BYTE_KIND[buf[i]];
      if (kind === 0 || kind === K_COMMA) continue;
      if (kind === K_QUOTE) {
        let j = i + 1;
        for (; j < n; j++) {
          const d = buf[j];
          if (d > BACKSLASH) continue;
          if (d === QUOTE || d === NEWLINE) break;
          if (d === BACKSLASH && buf[j + 1] !== NEWLINE) j++;
        }
        if (j < n && buf[j] === QUOTE) {
          i = j;
          continue;
        }
        this.depth = depth;
        this.state = STRING;
        return i + 1;
      }
      if (kind === K_OPEN) {
        depth++;
        continue;
      }
      if (kind === K_CLOSE) {
        if (--depth === floor) {
          this.depth = depth;
          this.state = VALUE;
          return i + 1;
        }
        continue;
      }
      this.line++;
      this.depth = depth;
      if (this.atNewline(buf, i)) return i + 1;
    }
    this.depth = depth;
    return n;
  }

  private scanScalar(buf: Buffer, i: number): number {
    const n = buf.length;
    const from = i;
    while (i < n && !isDelimiter(buf[i])) i++;
    if (i < n) {
      this.endScalar(buf, i);
      return i;
    }
    if (this.offset + n - this.recStart > MAX_SCALAR) {
      this.startSkip(from, "not valid JSON: not a JSON value");
    }
    return n;
  }

  private endScalar(buf: Buffer, end: number): void {
    const { bytes, start, stop } = this.retained(buf, end);
    const token = bytes.toString("latin1", start, stop);
    if (token.length <= MAX_SCALAR && SCALAR_PATTERN.test(token)) {
      this.closeValue(buf, end);
      this.endTopValue();
    } else {
      const shown = token.length > 40 ? token.slice(0, 40) + "…" : token;
      this.startSkip(end, `not valid JSON: unexpected '${shown}'`, this.recStart);
    }
  }

  private scanSkip(buf: Buffer, i: number): number {
    const n = buf.length;
    for (;;) {
      const newline = buf.indexOf(NEWLINE, i);
      if (newline < 0) return n;
      this.line++;
      if (newline + 1 === n) {
        this.pendingNewline = true;
        this.pendingLastByte = 0;
        return n;
      }
      const next = buf[newline + 1];
      if (next === OPEN_BRACE || next === OPEN_BRACKET) {
        this.closeSkip(buf, newline, false);
        return newline + 1;
      }
      i = newline + 1;
    }
  }

  /**
   * Skips a damaged array element byte by byte, strings unread (a quote may be missing), until
   * the pattern [`}` ws] `,` ws `{` ws `"key"` ws `:` completes, with a key known to start
   * this array's elements, or any key after a `}` while none is known (see knownKey): the
   * damaged element ends at that `}` (or `,`), the next one begins at that `{`. A `{` or `[`
   * in column 0 ends the damage too (see lineStart), as does the end of the input.
   */
  private scanResync(buf: Buffer, i: number): number {
    const n = buf.length;
    let phase = this.rsPhase;
    for (; i < n; i++) {
      const c = buf[i];
      if (phase >= RS_OPEN && this.offset + i - this.rsOpen >= MAX_CANDIDATE) phase = RS_SEEK;
      if (c === NEWLINE) {
        this.line++;
        if (phase === RS_KEY) phase = RS_SEEK;
        this.rsPhase = phase;
        if (this.atNewline(buf, i)) return i + 1;
        continue;
      }
      const space = c === SPACE || c === RETURN || c === TAB;
      switch (phase) {
        case RS_CLOSE:
          if (space) continue;
          if (c === COMMA) {
            phase = RS_COMMA;
            continue;
          }
          break;
        case RS_COMMA:
          if (space) continue;
          if (c === OPEN_BRACE) {
            phase = RS_OPEN;
            this.rsOpen = this.offset + i;
            this.rsOpenLine = this.line;
            continue;
          }
          break;
        case RS_OPEN:
          if (space) continue;
          if (c === QUOTE) {
            phase = RS_KEY;
            this.rsKeyLength = 0;
            continue;
          }
          break;
        case RS_KEY:
          if (c === QUOTE) {
            phase = RS_KEY_END;
            continue;
          }
          if (c >= SPACE && c !== BACKSLASH && c !== COMMA && c !== CLOSE_BRACE && this.rsKeyLength < MAX_KEY) {
            this.rsKey[this.rsKeyLength++] = c;
            continue;
          }
          break;
        case RS_KEY_END:
          if (space) continue;
          if (c === COLON && this.knownKey()) {
            this.resume(buf, i);
            return i + 1;
          }
          break;
      }
      // Not (or no longer) the pattern. A candidate holds no `}` or `,` but its first ones, so
      // the pattern can only begin again at this byte.
      if (c === CLOSE_BRACE) {
        phase = RS_CLOSE;
        this.rsBrace = true;
        this.rsEnd = this.offset + i + 1;
      } else if (c === COMMA) {
        phase = RS_COMMA;
        this.rsBrace = false;
        this.rsEnd = this.offset + i;
      } else {
        phase = RS_SEEK;
      }
    }
    this.rsPhase = phase;
    return n;
  }

  // --- damage inside a top-level array -------------------------------------------------------

  /**
   * Damage in the top-level array at buffer index `at` (that byte not consumed yet): the open
   * element, or a new one at `at`, becomes a damaged region skipped by scanResync.
   */
  private damage(buf: Buffer, at: number, reason: string): void {
    let phase = RS_SEEK;
    if (this.open) {
      const { bytes, start, stop } = this.retained(buf, at);
      // Its first key is a first key of this array's elements too.
      if (!this.keysOverflow) this.learnKey(bytes, start, stop);
      // Once an element is larger than its limit, its bytes are no longer all held.
      if (this.offset + at - this.recStart <= this.recLimit) phase = this.lookBack(bytes, start, stop);
    } else {
      this.openRecord(at, false);
    }
    this.skipReason = this.recBad ?? `${reason} at line ${this.line} (byte ${this.offset + at})`;
    this.skipLine = this.line;
    this.skipAt = this.offset + at;
    this.recLimit = Math.min(this.recLimit, TEXT_CAP);
    this.depth = 1;
    this.rsPhase = phase;
    this.state = RESYNC;
  }

  /**
   * The phase of the resynchronisation pattern at the damage, from the open element's bytes
   * before it (`bytes[start, stop)`, all of them): damage is often seen only after the pattern
   * began (a string cut short runs on through `},{"` and ends at the next element's first quote).
   */
  private lookBack(bytes: Buffer, start: number, stop: number): number {
    const floor = Math.max(start, stop - LOOKBACK);
    const absolute = (index: number) => this.recStart + index - start;
    let k = skipBack(bytes, stop - 1, floor);
    let quote = false;
    let open = -1;
    if (k >= floor && bytes[k] === QUOTE) {
      quote = true;
      k = skipBack(bytes, k - 1, floor);
      if (k < floor || bytes[k] !== OPEN_BRACE) return RS_SEEK;
    }
    if (k >= floor && bytes[k] === OPEN_BRACE) {
      open = k;
      k = skipBack(bytes, k - 1, floor);
      if (k < floor || bytes[k] !== COMMA) return RS_SEEK;
    }
    if (k < floor) return RS_SEEK;
    if (bytes[k] === COMMA) {
      const comma = k;
      k = skipBack(bytes, k - 1, floor);
      this.rsBrace = k >= floor && bytes[k] === CLOSE_BRACE;
      this.rsEnd = this.rsBrace ? absolute(k) + 1 : absolute(comma);
    } else if (bytes[k] === CLOSE_BRACE) {
      this.rsBrace = true;
      this.rsEnd = absolute(k) + 1;
      return RS_CLOSE;
    } else {
      return RS_SEEK;
    }
    if (open < 0) return RS_COMMA;
    if (stop - open >= MAX_CANDIDATE) return RS_SEEK;
    this.rsOpen = absolute(open);
    let lines = 0;
    for (let j = open + 1; j < stop; j++) if (bytes[j] === NEWLINE) lines++;
    this.rsOpenLine = this.line - lines;
    if (this.rsOpen < this.offset) this.rsCandidate.set(bytes.subarray(open, open + this.offset - this.rsOpen));
    if (!quote) return RS_OPEN;
    this.rsKeyLength = 0;
    return RS_KEY;
  }

  /**
   * Whether the candidate's first key starts an element here: one of the first keys of this
   * array's elements read before (the damaged one included); while none is known (or more than
   * MAX_KEYS are), any key after `}`.
   */
  private knownKey(): boolean {
    if (this.keys.size === 0 || this.keysOverflow) return this.rsBrace;
    return this.keys.has(Buffer.from(this.rsKey.buffer, 0, this.rsKeyLength).toString("latin1"));
  }

  /** The pattern completed at buffer index `at` (its `:`): the damaged element ends, the next one is read from its `{`. */
  private resume(buf: Buffer, at: number): void {
    this.closeErrorAt(
      buf,
      at,
      this.rsEnd,
      `${this.skipReason}; reading resumed at line ${this.rsOpenLine} (byte ${this.rsOpen}), where the next element seems to start`,
    );
    this.index++;
    this.openRecord(0, false);
    this.recStart = this.rsOpen;
    if (this.rsOpen >= this.offset) {
      this.recFrom = this.rsOpen - this.offset;
    } else {
      const held = this.offset - this.rsOpen;
      this.pieces.push(Buffer.from(this.rsCandidate.subarray(0, held)));
      this.piecesBytes = held;
    }
    this.stack[1] = OPEN_BRACE;
    this.depth = 2;
    this.state = VALUE;
  }

  /** In an element, a string's closing quote is followed by the byte at `at`, which JSON does not allow there. */
  private stringFollowedBy(buf: Buffer, at: number): number {
    this.damage(
      buf,
      at,
      `not valid JSON: a string is followed by ${show(buf[at])} (a quote is missing, or one too many, before it)`,
    );
    return at;
  }

  /** A value begins at buffer index `at` right after the open element, with no ',' between: the element is rejected, the value read as the next one. */
  private missingComma(buf: Buffer, at: number): void {
    this.closeError(
      buf,
      at,
      this.recBad ??
        `not valid JSON: no ',' after this element (the next one starts at line ${this.line}, byte ${this.offset + at})`,
    );
    this.index++;
    this.state = ARRAY;
  }

  /** Whether the last byte before buffer index `at`, whitespace aside, is ':'. */
  private followsColon(buf: Buffer, at: number): boolean {
    for (let k = at - 1; k >= 0; k--) {
      const b = buf[k];
      if (b === COLON) return true;
      if (b !== SPACE && b !== NEWLINE && b !== RETURN && b !== TAB) return false;
    }
    return this.tailByte === COLON;
  }

  /**
   * Opens a bracket (`c`) beyond MAX_JSON_DEPTH. Returns true when the record is now deeper
   * than MAX_SCANNED_DEPTH: it is rejected unparsed and scanDeep counts on to its end.
   */
  private nestDeeper(c: number): boolean {
    const depth = this.depth + 1;
    this.recOverDepth = true;
    this.depth = depth;
    if (depth - (this.inArray ? 1 : 0) <= MAX_SCANNED_DEPTH) {
      this.stack[depth - 1] = c;
      return false;
    }
    this.recDeep = true;
    this.recLimit = Math.min(this.recLimit, TEXT_CAP);
    this.state = DEEP;
    return true;
  }

  /** Remembers the first key of an object element (`bytes[start, stop)`, its first bytes at least). */
  private learnKey(bytes: Buffer, start: number, stop: number): void {
    if (bytes[start] !== OPEN_BRACE) return;
    let k = start + 1;
    while (k < stop && isWhitespace(bytes[k])) k++;
    if (k >= stop || bytes[k] !== QUOTE) return;
    const from = ++k;
    const limit = Math.min(stop, from + MAX_KEY + 1);
    for (; k < limit; k++) {
      const b = bytes[k];
      if (b === QUOTE) break;
      if (b < SPACE || b === BACKSLASH || b === COMMA || b === CLOSE_BRACE) return;
    }
    if (k >= limit) return;
    const key = bytes.toString("latin1", from, k);
    if (this.keys.has(key)) return;
    if (this.keys.size === MAX_KEYS) this.keysOverflow = true;
    else this.keys.add(key);
  }

  // --- line structure --------------------------------------------------------------------

  /**
   * At a newline (buffer index `newline`, already counted) inside a top-level value: decides
   * whether the value was cut short there, as a JSON line is. Returns true when it was: the
   * damage is then reported and reading resumes after the newline.
   */
  private atNewline(buf: Buffer, newline: number): boolean {
    if (newline + 1 === buf.length) {
      this.pendingNewline = true;
      this.pendingLastByte = this.lastByteBefore(buf, newline);
      return false;
    }
    const next = buf[newline + 1];
    if (next !== OPEN_BRACE && next !== OPEN_BRACKET) return false;
    return this.lineStart(buf, newline + 1, newline, this.lastByteBefore(buf, newline));
  }

  /**
   * Looks at the first byte of a line (at `at`; the newline before it is at `newline`, -1 when
   * it ended the previous buffer). A `{` or `[` in column 0 starts a new top-level value: it
   * ends a damaged region, and cuts short a value still open, unless the previous line ended
   * with `,` `[` or `:` (pretty-printing without indentation puts nested values in column 0).
   */
  private lineStart(buf: Buffer, at: number, newline: number, lastByte: number): boolean {
    const c = buf[at];
    if (c !== OPEN_BRACE && c !== OPEN_BRACKET) return false;
    if (this.state === SKIP) {
      this.closeSkip(buf, Math.max(newline, 0), false);
      return true;
    }
    if (
      this.state !== STRING &&
      !this.linesEvidence &&
      (lastByte === COMMA || lastByte === OPEN_BRACKET || lastByte === COLON)
    ) {
      return false;
    }
    if (this.state === RESYNC) {
      // The damaged array element runs into a new top-level value: the array ends there.
      this.inArray = false;
      this.depth = 0;
      this.closeSkip(buf, Math.max(newline, 0), false);
      return true;
    }
    this.breakAtNewline(buf, newline);
    return true;
  }

  /** The current top-level value was cut short by the end of its line (the newline at buffer index `newline`). */
  private breakAtNewline(buf: Buffer, newline: number): void {
    const end = Math.max(newline, 0);
    const what = this.inArray
      ? `the array of line ${this.topLine} is not closed`
      : this.state === STRING
        ? "a string is not closed"
        : "the value is not closed";
    if (this.inArray && (this.state === VALUE || this.state === AFTER) && this.depth === 1) {
      // The element itself looks complete: only the array is not closed.
      this.closeValue(buf, end);
      this.index++;
    }
    if (!this.open) {
      this.openRecord(end, !this.inArray);
      if (newline < 0) this.recStart = this.offset - 1;
    }
    this.closeError(buf, end, `not valid JSON: line ${this.line - 1} ends and ${what}`);
    this.inArray = false;
    this.depth = 0;
    this.state = TOP;
  }

  private lastByteBefore(buf: Buffer, newline: number): number {
    for (let j = newline - 1; j >= 0; j--) {
      if (!isWhitespace(buf[j])) return buf[j];
    }
    return this.tailByte;
  }

  // --- records -----------------------------------------------------------------------------

  private beginTopItem(): void {
    this.topItems++;
    if (this.held) {
      this.out.push(this.held);
      this.held = undefined;
    }
  }

  private endTopValue(): void {
    this.linesEvidence = this.line === this.topLine;
    this.state = TOP;
  }

  private endArray(): void {
    this.inArray = false;
    this.depth = 0;
    this.endTopValue();
  }

  /** Opens a record at buffer index `at` (a top-level item or the next array element). */
  private openRecord(at: number, top: boolean): void {
    this.open = true;
    this.recStart = this.offset + at;
    this.recFrom = at;
    this.pieces.length = 0;
    this.piecesBytes = 0;
    this.recLimit = this.maxRecordBytes;
    this.recCut = false;
    this.recTop = top;
    this.recBad = undefined;
    this.recOverDepth = false;
    this.recDeep = false;
    this.recPosition = top ? `line ${this.line}` : `${this.arrayLabel}${this.index}`;
  }

  /** The retained bytes of the open record, up to buffer index `end`. */
  private retained(buf: Buffer, end: number): { bytes: Buffer; start: number; stop: number } {
    const from = Math.min(this.recFrom, end);
    if (this.pieces.length === 0) {
      const stop = this.recCut ? Math.min(end, from + TEXT_CAP) : end;
      return { bytes: buf, start: from, stop };
    }
    let tail = buf.subarray(from, end);
    if (this.recCut) tail = tail.subarray(0, Math.max(0, TEXT_CAP - this.piecesBytes));
    const bytes = tail.length > 0 ? Buffer.concat([...this.pieces, tail]) : Buffer.concat(this.pieces);
    return { bytes, start: 0, stop: bytes.length };
  }

  /** Carries the open record's bytes of this buffer over to the next. */
  private keep(buf: Buffer): void {
    const size = this.offset + buf.length - this.recStart;
    if (!this.recCut && size > this.recLimit) {
      this.recCut = true;
      const kept: Buffer[] = [];
      let bytes = 0;
      for (const piece of this.pieces) {
        if (bytes >= TEXT_CAP) break;
        const part = piece.subarray(0, TEXT_CAP - bytes);
        kept.push(part);
        bytes += part.length;
      }
      this.pieces = kept;
      this.piecesBytes = bytes;
    }
    let tail = buf.subarray(this.recFrom);
    if (this.recCut) {
      if (this.piecesBytes >= TEXT_CAP) return;
      tail = tail.subarray(0, TEXT_CAP - this.piecesBytes);
    }
    if (tail.length === 0) return;
    this.pieces.push(tail);
    this.piecesBytes += tail.length;
  }

  private emit(span: Span): void {
    if (this.recTop && this.topItems === 1) this.held = span;
    else this.out.push(span);
  }

  /** Closes the open record as a value ending at buffer index `end`. */
  private closeValue(buf: Buffer, end: number): void {
    this.open = false;
    const size = this.offset + end - this.recStart;
    const { bytes, start, stop } = this.retained(buf, end);
    const error =
      this.recBad ??
      (size > this.maxRecordBytes
        ? `record larger than ${this.maxRecordBytes} bytes (${size} bytes)`
        : this.recDeep
          ? DEPTH_REASON
          : undefined);
    if (!this.recTop && !this.keysOverflow) this.learnKey(bytes, start, stop);
    this.emit({
      position: this.recPosition,
      byteOffset: this.recStart,
      size,
      bytes,
      start,
      end: stop,
      error,
      document: false,
      overDepth: this.recOverDepth,
    });
  }

  /** Closes the open record as an error ending at buffer index `end`. */
  private closeError(buf: Buffer, end: number, message: string): void {
    this.closeErrorAt(buf, end, this.offset + end, message);
  }

  /** Closes the open record as an error ending at absolute offset `endOffset`, at or before buffer index `end`. */
  private closeErrorAt(buf: Buffer, end: number, endOffset: number, message: string): void {
    this.open = false;
    const size = Math.max(0, endOffset - this.recStart);
    const { bytes, start, stop } = this.retained(buf, end);
    this.emit({
      position: this.recPosition,
      byteOffset: this.recStart,
      size,
      bytes,
      start,
      end: Math.min(stop, start + size),
      error: message,
      document: false,
      overDepth: false,
    });
  }

  /** The record (or a new one at `at`) becomes a damaged region skipped until reading can resume. */
  private startSkip(at: number, reason: string, reportAt = this.offset + at): void {
    if (!this.open) this.openRecord(at, !this.inArray);
    this.skipReason = `${reason} at line ${this.line} (byte ${reportAt})`;
    this.enterSkip(this.line, at);
  }

  private enterSkip(line: number, at: number): void {
    this.skipLine = line;
    this.skipAt = this.offset + Math.max(at, 0);
    this.recLimit = Math.min(this.recLimit, TEXT_CAP);
    this.inArray = false;
    this.depth = 0;
    this.state = SKIP;
  }

  /** Ends the damaged region at buffer index `end` (a newline, already counted), or at the end of the input. */
  private closeSkip(buf: Buffer, end: number, atEnd: boolean): void {
    let message = this.skipReason;
    if (atEnd) {
      if (this.offset + end > this.skipAt + 1) message += "; the rest of the input was skipped";
    } else {
      const last = this.line - 1;
      if (last === this.skipLine + 1) message += `; line ${last} was skipped`;
      else if (last > this.skipLine + 1) message += `; lines ${this.skipLine + 1}-${last} were skipped`;
    }
    this.closeError(buf, end, message);
    this.inArray = false;
    this.state = TOP;
  }

  private skipping(): boolean {
    return this.state === SKIP;
  }
}

const EMPTY_SPANS: Span[] = [];
const EMPTY_BUFFER = Buffer.alloc(0);
