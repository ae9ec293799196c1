import { readFile } from "node:fs/promises";

/** One record read from a source: a parsed value, or why it could not be parsed. */
export type SourceRecord = { position: string; value: unknown } | { position: string; error: string; text?: string };

/**
 * Where events come from. Files and standard input today; an OSS bucket or an SLS consumer
 * group is another implementation, and the writer does not change.
 */
export interface EventSource {
  /** Printable name for messages and rejects (a path, `-`, `http`). */
  readonly name: string;
  records(): AsyncIterable<SourceRecord>;
}

/** A file holding one event, a JSON array of events, or JSON lines. */
export class FileSource implements EventSource {
  constructor(readonly name: string) {}

  async *records(): AsyncIterable<SourceRecord> {
    yield* parseDocument(await readFile(this.name, "utf8"));
  }
}

/**
 * Splits a document into records by its content: a JSON array (each element a record), a
 * single JSON value, or JSON lines (each non-empty line a record, parsed on its own so a
 * broken line costs only itself).
 */
export function* parseDocument(text: string): Iterable<SourceRecord> {
  const trimmed = text.trim();
  if (trimmed === "") return;
  try {
    const whole: unknown = JSON.parse(trimmed);
    if (Array.isArray(whole)) {
      for (let index = 0; index < whole.length; index++) yield { position: `element ${index}`, value: whole[index] };
    } else {
      yield { position: "document", value: whole };
    }
    return;
  } catch (error) {
    if (trimmed.startsWith("[")) {
      yield { position: "document", error: `not valid JSON: ${(error as Error).message}` };
      return;
    }
  }
  const lines = text.split("\n");
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index].trim();
    if (line === "") continue;
    try {
      yield { position: `line ${index + 1}`, value: JSON.parse(line) };
    } catch (error) {
      yield { position: `line ${index + 1}`, error: `not valid JSON: ${(error as Error).message}`, text: line };
    }
  }
}
