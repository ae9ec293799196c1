import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/**
 * API keys for scripts and dashboards: `tgk_<id>_<secret>`, where the id (12 hex digits) finds
 * the entry and the secret is 256 random bits. The keys file (TRAILGRAPH_API_KEYS_FILE) keeps
 * each key's SHA-256, never the key: a random 256-bit secret needs no slow hash, as a
 * password would.
 */
export const API_KEY_PREFIX = "tgk_";
const KEY_PATTERN = /^tgk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

export interface ApiKeyEntry {
  id: string;
  name: string;
  /** The accounts the key reads (and, with `write`, ingests), or "*" for every account. */
  accounts: string[] | "*";
  /** May POST /ingest (events of its accounts). */
  write: boolean;
  /** ISO 8601. */
  created: string;
  /** "sha256:<hex>" of the whole key. */
  hash: string;
}

interface KeysFile {
  version: 1;
  keys: ApiKeyEntry[];
}

function sha256(key: string): Buffer {
  return createHash("sha256").update(key, "utf8").digest();
}

/** The id of a key in the API key format, else null (then it is no API key). */
export function apiKeyId(token: string): string | null {
  return KEY_PATTERN.exec(token)?.[1] ?? null;
}

/** Whether `token` is the key whose hash `entry` holds (constant time). */
export function keyMatches(entry: ApiKeyEntry, token: string): boolean {
  const stored = Buffer.from(entry.hash.slice("sha256:".length), "hex");
  const presented = sha256(token);
  return stored.length === presented.length && timingSafeEqual(stored, presented);
}

/** A new key and its entry; the key exists nowhere else once the caller has shown it. */
export function newApiKey(fields: { name: string; accounts: string[] | "*"; write: boolean }): {
  key: string;
  entry: ApiKeyEntry;
} {
  const id = randomBytes(6).toString("hex");
  const key = `${API_KEY_PREFIX}${id}_${randomBytes(32).toString("base64url")}`;
  const entry: ApiKeyEntry = {
    id,
    name: fields.name,
    accounts: fields.accounts === "*" ? "*" : [...fields.accounts],
    write: fields.write,
    created: new Date().toISOString(),
    hash: `sha256:${sha256(key).toString("hex")}`,
  };
  return { key, entry };
}

/** The entries of a keys file; throws (with the file's name) when it is missing or malformed. */
export function readApiKeys(file: string): ApiKeyEntry[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    const wrapped = new Error(`cannot read '${file}': ${(error as Error).message}`);
    (wrapped as NodeJS.ErrnoException).code = (error as NodeJS.ErrnoException).code;
    throw wrapped;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(`'${file}' is not JSON: ${(error as Error).message}`);
  }
  const keys = (parsed as Partial<KeysFile> | null)?.keys;
  if (!Array.isArray(keys)) throw new Error(`'${file}' is not an API keys file: it has no "keys" list`);
  keys.forEach((entry: unknown, index) => {
    const problem = entryProblem(entry);
    if (problem) throw new Error(`'${file}', keys[${index}]: ${problem}`);
  });
  return keys as ApiKeyEntry[];
}

function entryProblem(value: unknown): string | null {
  if (!value || typeof value !== "object") return "not an object";
  const entry = value as Record<string, unknown>;
  if (typeof entry.id !== "string" || !/^[0-9a-f]{12}$/.test(entry.id)) return "id is not 12 hex digits";
  if (typeof entry.name !== "string") return "name is not a string";
  if (
    entry.accounts !== "*" &&
    !(Array.isArray(entry.accounts) && entry.accounts.every((id) => typeof id === "string" && id !== ""))
  )
    return 'accounts is neither "*" nor a list of account IDs';
  if (typeof entry.write !== "boolean") return "write is not true or false";
  if (typeof entry.hash !== "string" || !/^sha256:[0-9a-f]{64}$/.test(entry.hash))
    return "hash is not sha256:<64 hex digits>";
  return null;
}

/**
 * Writes the keys file whole: a temporary file beside it, readable by its owner only, renamed
 * over it, so that a server never reads half a file.
 */
export function writeApiKeys(file: string, keys: readonly ApiKeyEntry[]): void {
  const temporary = join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(4).toString("hex")}`);
  const content: KeysFile = { version: 1, keys: [...keys] };
  writeFileSync(temporary, `${JSON.stringify(content, null, 2)}\n`, { mode: 0o600, flag: "wx" });
  renameSync(temporary, file);
}

/**
 * The server's view of the keys file: read at start, and again when it changes (its
 * modification time, size or inode, looked at no more than once per `checkIntervalMs`), so
 * that a key created or revoked by `trailgraph apikey` counts without a restart. A file that
 * disappears or cannot be read any more accepts no key until it is fixed.
 */
export class ApiKeyRing {
  private keys = new Map<string, ApiKeyEntry>();
  private signature: string;
  private checkedAt: number;
  private checking: Promise<void> | null = null;
  private failing = false;

  constructor(
    readonly file: string,
    private readonly options: { checkIntervalMs?: number; onError?: (message: string) => void } = {},
  ) {
    this.signature = signatureOf(statSync(file));
    this.load(readApiKeys(file));
    this.checkedAt = Date.now();
  }

  get size(): number {
    return this.keys.size;
  }

  /** The entry of a key (by its id, then its hash), or null. */
  async find(token: string): Promise<ApiKeyEntry | null> {
    const id = apiKeyId(token);
    if (id === null) return null;
    await this.refresh();
    const entry = this.keys.get(id);
    // Hashed and compared whether the id is known or not: the time taken tells nothing.
    const matches = keyMatches(entry ?? UNKNOWN, token);
    return entry && matches ? entry : null;
  }

  private load(entries: ApiKeyEntry[]): void {
    this.keys = new Map(entries.map((entry) => [entry.id, entry]));
  }

  private refresh(): Promise<void> {
    if (Date.now() - this.checkedAt < (this.options.checkIntervalMs ?? 1000)) return Promise.resolve();
    return (this.checking ??= (async () => {
      try {
        const signature = signatureOf(await stat(this.file));
        if (signature !== this.signature) {
          this.load(readApiKeys(this.file));
          this.signature = signature;
        }
        this.failing = false;
      } catch (error) {
        // Fail closed: a key revoked in a file that is now unreadable must not keep working.
        this.keys = new Map();
        this.signature = "";
        if (!this.failing) {
          this.options.onError?.(
            `API keys file: ${(error as Error).message}; no API key is accepted until it is fixed`,
          );
        }
        this.failing = true;
      } finally {
        this.checkedAt = Date.now();
        this.checking = null;
      }
    })());
  }
}

/** Compared against when a key's id is unknown; no key hashes to it. */
const UNKNOWN: ApiKeyEntry = {
  id: "000000000000",
  name: "",
  accounts: [],
  write: false,
  created: "",
  hash: `sha256:${"0".repeat(64)}`,
};

function signatureOf(stats: { mtimeMs: number; size: number; ino: number }): string {
  return `${stats.mtimeMs} ${stats.size} ${stats.ino}`;
}
