import { readFileSync } from "node:fs";
import { Readable } from "node:stream";
import { createGzip, gzipSync, gunzipSync, constants as zlibConstants } from "node:zlib";
import { describe, expect, it, vi } from "vitest";
import { MAX_JSON_DEPTH } from "../limits";
import { InputError, readRecords, TEXT_CAP, type RawRecord } from "./read-records";

const samples = JSON.parse(readFileSync("samples/events.json", "utf8")) as Record<string, unknown>[];

/** Feeds `input` in chunks of `step` bytes (one Buffer per chunk, as a file stream would). */
async function* chunked(input: Buffer, step: number): AsyncGenerator<Buffer> {
  for (let offset = 0; offset < input.length; offset += step) yield input.subarray(offset, offset + step);
}

interface Result {
  records: RawRecord[];
  error?: unknown;
}

async function read(input: Buffer | string, step = 64 * 1024, options?: { maxRecordBytes?: number }): Promise<Result> {
  const records: RawRecord[] = [];
  try {
    for await (const record of readRecords(chunked(Buffer.from(input), step), options)) records.push(record);
  } catch (error) {
    return { records, error };
  }
  return { records };
}

const CHUNKINGS = [1, 7, 64 * 1024];

/** Reads `input` in 1-byte, 7-byte and 64 KiB chunks, checks the results are identical, returns them. */
async function readEveryWay(input: Buffer | string, options?: { maxRecordBytes?: number }): Promise<RawRecord[]> {
  const results = await Promise.all(CHUNKINGS.map((step) => read(input, step, options)));
  for (const result of results) {
    expect(result.error).toBeUndefined();
    expect(result.records).toEqual(results[results.length - 1].records);
  }
  return results[0].records;
}

const values = (records: RawRecord[]) => records.map((record) => record.value);
const positions = (records: RawRecord[]) => records.map((record) => record.position);
const errors = (records: RawRecord[]) => records.filter((record) => record.error !== undefined);

/** `{...}` with its eventId replaced by a masked, unquoted number: the documentation's own invalid sample. */
function unquotedMasked(event: Record<string, unknown>): string {
  const text = JSON.stringify({ ...event, recipientAccountId: "@@" });
  return text.replace('"recipientAccountId":"@@"', '"recipientAccountId":151266687691****');
}

describe("a top-level JSON array", () => {
  it("streams each element of a pretty-printed array, with positions and byte offsets", async () => {
    const text = JSON.stringify(samples, null, 2);
    const records = await readEveryWay(text);
    expect(values(records)).toEqual(samples);
    expect(positions(records)).toEqual(samples.map((_, index) => `element ${index}`));
    const bytes = Buffer.from(text);
    for (const [index, record] of records.entries()) {
      const pretty = JSON.stringify(samples[index], null, 2).replace(/\n/g, "\n  ");
      expect(bytes.toString("utf8", record.byteOffset, (record.byteOffset ?? 0) + Buffer.byteLength(pretty))).toBe(
        pretty,
      );
    }
  });

  it("streams each element of a minified array", async () => {
    const text = JSON.stringify(samples);
    const records = await readEveryWay(text);
    expect(values(records)).toEqual(samples);
    const bytes = Buffer.from(text);
    for (const [index, record] of records.entries()) {
      const element = JSON.stringify(samples[index]);
      expect(bytes.toString("utf8", record.byteOffset, (record.byteOffset ?? 0) + Buffer.byteLength(element))).toBe(
        element,
      );
    }
  });

  it("keeps strings holding brackets, commas, escaped quotes, backslashes and unicode intact", async () => {
    const tricky = [
      { eventId: "a", userAgent: 'ali"yun]}, [{' },
      { eventId: "b", path: "C:\\dir\\", next: '\\"quoted\\"', end: "\\" },
      { eventId: "c", name: "杭州 ☁️ 𝄞 résumé", escaped: "\u0000\u001f\u2028" },
      { eventId: "d", requestParameterJson: JSON.stringify({ a: [1, { b: "]" }], c: "}" }) },
      { eventId: "e", nested: [[1, [2, [3, { deep: ["x", "]", "["] }]]], []], empty: {}, list: [] },
      "a top-level string ] with [ brackets",
      12.5e3,
      true,
      null,
      [],
    ];
    for (const text of [JSON.stringify(tricky), JSON.stringify(tricky, null, 4), JSON.stringify(tricky, null, "\t")]) {
      const records = await readEveryWay(text);
      expect(values(records)).toEqual(tricky);
      expect(errors(records)).toEqual([]);
    }
    // \u escapes written as escapes (not as characters) are parsed too.
    const escapes = '[{"eventId":"\\u0041\\ud834\\udd1e","q":"\\"]"}]';
    expect(values(await readEveryWay(escapes))).toEqual([{ eventId: "A𝄞", q: '"]' }]);
  });

  it("reads arrays and pages pretty-printed without indentation (nested values in column 0)", async () => {
    const unindented = (value: unknown) => JSON.stringify(value, null, 1).replace(/^ +/gm, "");
    const events = samples.slice(0, 10);
    expect(values(await readEveryWay(unindented(events)))).toEqual(events);
    const pages = [events.slice(0, 4), events.slice(4)].map((list) => unindented({ RequestId: "r", Events: list }));
    const records = await readEveryWay(pages.join("\n"));
    expect(values(records)).toEqual(events);
    expect(errors(records)).toEqual([]);
    // One element a line between the brackets, as many tools write it.
    const oneALine = "[\n" + events.map((event) => JSON.stringify(event)).join(",\n") + "\n]\n";
    expect(values(await readEveryWay(oneALine))).toEqual(events);
  });

  it("rejects an element with an unquoted masked number alone, with its index, offset and text", async () => {
    const broken = unquotedMasked(samples[2]);
    const text = `[${JSON.stringify(samples[0])},${JSON.stringify(samples[1])},\n  ${broken} ,${JSON.stringify(samples[3])}]`;
    const records = await readEveryWay(text);
    expect(values(records.filter((record) => !record.error))).toEqual([samples[0], samples[1], samples[3]]);
    expect(errors(records)).toEqual([
      {
        position: "element 2",
        error: expect.stringMatching(/^not valid JSON: /),
        byteOffset: Buffer.byteLength(text.slice(0, text.indexOf(broken))),
        text: broken,
      },
    ]);
    expect(positions(records)).toEqual(["element 0", "element 1", "element 2", "element 3"]);
  });

  it("reports an empty array as no records and oddities as errors of their own", async () => {
    expect(await readEveryWay("[]")).toEqual([]);
    expect(await readEveryWay(" [ \n ] \n")).toEqual([]);
    const records = await readEveryWay('[{"eventId":"a"},,{"eventId":"b"},]');
    expect(records).toEqual([
      { value: { eventId: "a" }, position: "element 0", byteOffset: 1 },
      { error: expect.stringMatching(/empty element/), position: "element 1", byteOffset: 17 },
      { value: { eventId: "b" }, position: "element 2", byteOffset: 18 },
      { error: expect.stringMatching(/trailing comma/), position: "element 3", byteOffset: 34 },
    ]);
  });

  it("when the structure breaks in the last element, yields what came before and one error for the rest", async () => {
    const good = JSON.stringify(samples[0]);
    const mismatched = `[${good},\n{"eventId": "x", "list": [1, 2}]\n`;
    const records = await readEveryWay(mismatched);
    expect(records).toEqual([
      { value: samples[0], position: "element 0", byteOffset: 1 },
      {
        position: "element 1",
        byteOffset: good.length + 3,
        error: expect.stringMatching(/^not valid JSON: unexpected '}' at line 2 .*the rest of the input was skipped$/),
        text: '{"eventId": "x", "list": [1, 2}]',
      },
    ]);

    const unterminated = `[${good}, {"eventId": "y", "userAgent": "AliyunCons`;
    const cut = await readEveryWay(unterminated);
    expect(cut).toEqual([
      { value: samples[0], position: "element 0", byteOffset: 1 },
      {
        error: "not valid JSON: the input ends inside a string",
        position: "element 1",
        byteOffset: good.length + 3,
        text: '{"eventId": "y", "userAgent": "AliyunCons',
      },
    ]);

    // Cut right after a complete element: the element is kept, the missing ']' reported.
    const unclosed = await readEveryWay(`[${good},${good}`);
    expect(values(unclosed)).toEqual([samples[0], samples[0], undefined]);
    expect(unclosed[2]).toMatchObject({ position: "element 2", error: expect.stringMatching(/no '\]'/) });
  });

  it("numbers the elements of a second top-level array by the line it starts on", async () => {
    const records = await readEveryWay('[{"eventId":"a"}]\n[{"eventId":"b"},{"eventId":"c"}]\n');
    expect(positions(records)).toEqual(["element 0", "line 2, element 0", "line 2, element 1"]);
    expect(values(records)).toEqual([{ eventId: "a" }, { eventId: "b" }, { eventId: "c" }]);
  });
});

describe("a damaged element of a top-level array costs only itself", () => {
  // First keys requestId, eventId, ...: both are known when element 2 breaks.
  const events = samples.slice(0, 5);
  const BROKEN = 2;
  const { eventId, userAgent } = events[BROKEN] as { eventId: string; userAgent: string };

  /** An element as it stands in the array: minified, or as JSON.stringify(array, null, 2) writes it. */
  const render = (event: unknown, pretty: boolean) =>
    pretty ? JSON.stringify(event, null, 2).replace(/\n/g, "\n  ") : JSON.stringify(event);

  /** The array of `texts`, with `after` (if given) instead of the separator after element BROKEN, and the elements' offsets. */
  function arrayText(texts: string[], pretty: boolean, after?: string): { text: string; offsets: number[] } {
    const separator = pretty ? ",\n  " : ",";
    let text = pretty ? "[\n  " : "[";
    const offsets: number[] = [];
    for (const [index, element] of texts.entries()) {
      offsets.push(Buffer.byteLength(text));
      text += element;
      if (index < texts.length - 1) text += index === BROKEN && after !== undefined ? after : separator;
    }
    return { text: text + (pretty ? "\n]\n" : "]"), offsets };
  }

  interface Damage {
    name: string;
    /** The broken element's text, made from the good one. */
    element?: (text: string, pretty: boolean) => string;
    /** What follows the broken element instead of the separator. */
    after?: (pretty: boolean) => string;
    /** The error record's text, when not the broken element's. */
    damaged?: (element: string) => string;
    reason: RegExp;
  }

  const DAMAGES: Damage[] = [
    {
      name: "a string that lost its closing quote",
      element: (text) => text.replace(`"${eventId}"`, `"${eventId}`),
      reason: /^not valid JSON: a string is followed by 'e' .* at line \d+ \(byte \d+\); reading resumed at line \d+/,
    },
    {
      // The string runs on through the `},{"` after the element: the damage shows only there.
      name: "a string cut short, with the rest of the element",
      element: (text, pretty) => text.slice(0, text.indexOf(userAgent) + 8) + (pretty ? "\n  }" : "}"),
      reason: /^not valid JSON: a string is followed by 'e' /,
    },
    {
      name: "a raw newline inside a string",
      element: (text) => text.replace(userAgent, userAgent.replace(".", "\n.")),
      reason: /^not valid JSON: /,
    },
    {
      name: "a closing bracket that does not match",
      element: (text) => text.replace(/("eventVersion": ?1)/, "$1]"),
      reason: /^not valid JSON: unexpected '\]' at line \d+ \(byte \d+\); reading resumed at line \d+ \(byte \d+\)/,
    },
    {
      name: "its last '}' missing",
      element: (text, pretty) => text.slice(0, text.length - (pretty ? "\n  }".length : 1)),
      reason: /^not valid JSON: unexpected '\{' where a key is expected/,
    },
    {
      name: "a '{' too many",
      element: (text) => `{${text}`,
      reason: /^not valid JSON: unexpected '\{' where a key is expected/,
    },
    {
      name: "a missing ','",
      after: (pretty) => (pretty ? "\n  " : ""),
      reason: /^not valid JSON: no ',' after this element \(the next one starts at line \d+, byte \d+\)$/,
    },
    {
      name: "a stray '}' after it",
      after: (pretty) => (pretty ? "},\n  " : "},"),
      damaged: (element) => `${element}}`,
      reason: /^not valid JSON: unexpected '}' after the element at line \d+ \(byte \d+\); reading resumed/,
    },
    {
      name: "garbage after it",
      after: (pretty) => (pretty ? " xyz ,\n  " : " xyz ,"),
      damaged: (element) => `${element} xyz`,
      reason: /^not valid JSON: unexpected 'x' after the element at line \d+ \(byte \d+\)$/,
    },
  ];

  for (const pretty of [false, true]) {
    for (const damage of DAMAGES) {
      it(`${pretty ? "pretty-printed" : "minified"}: ${damage.name}`, async () => {
        const texts = events.map((event) => render(event, pretty));
        texts[BROKEN] = damage.element?.(texts[BROKEN], pretty) ?? texts[BROKEN];
        const { text, offsets } = arrayText(texts, pretty, damage.after?.(pretty));
        const records = await readEveryWay(text);
        expect(positions(records)).toEqual(events.map((_, index) => `element ${index}`));
        expect(records.map((record) => record.byteOffset)).toEqual(offsets);
        expect(values(records)).toEqual(events.map((event, index) => (index === BROKEN ? undefined : event)));
        expect(records[BROKEN]).toEqual({
          position: `element ${BROKEN}`,
          byteOffset: offsets[BROKEN],
          error: expect.stringMatching(damage.reason),
          text: damage.damaged?.(texts[BROKEN]) ?? texts[BROKEN],
        });
      });
    }
  }

  it("resumes only at an element whose first key the array's elements have: not in a nested array of objects", async () => {
    const tagged = { ...events[BROKEN], tags: [{ key: "a" }, { key: "b" }, { key: "c" }] };
    for (const pretty of [false, true]) {
      const texts = [...events.slice(0, BROKEN), tagged, ...events.slice(BROKEN + 1)].map((event) =>
        render(event, pretty),
      );
      // A bracket that does not match, before the tags.
      texts[BROKEN] = texts[BROKEN].replace(/("eventVersion": ?1)/, "$1]");
      const { text, offsets } = arrayText(texts, pretty);
      const records = await readEveryWay(text);
      expect(values(records)).toEqual(events.map((event, index) => (index === BROKEN ? undefined : event)));
      expect(records.map((record) => record.byteOffset)).toEqual(offsets);
      expect(records[BROKEN].text).toBe(texts[BROKEN]);
    }
  });

  it("each damaged element of several costs only itself, also in the first element and the last", async () => {
    const good = events.map((event) => JSON.stringify(event));
    const texts = [
      good[0].replace('"requestId":"', '"requestId":"}'), // a stray '}' inside a string: harmless
      good[1].replace(/("eventVersion":1)/, "$1]"),
      good[2],
      good[3].replace(/"eventName":"([^"]*)"/, '"eventName":"$1'),
      good[4].slice(0, -1),
      good[1],
      good[2].replace(/("eventVersion":1)/, "$1}}"),
    ];
    const text = `[${texts.join(",")}]`;
    const records = await readEveryWay(text);
    expect(positions(records)).toEqual(texts.map((_, index) => `element ${index}`));
    expect(records.map((record) => record.error === undefined)).toEqual([true, false, true, false, false, true, false]);
    expect(values(records)[0]).toEqual({ ...events[0], requestId: `}${String(events[0].requestId)}` });
    expect(values(records).slice(5, 6)).toEqual([events[1]]);
    expect(records.map((record) => record.byteOffset)).toEqual(
      texts.map((_, index) => 1 + texts.slice(0, index).reduce((sum, t) => sum + t.length + 1, 0)),
    );
    for (const index of [1, 3, 4]) expect(records[index].text).toBe(texts[index]);
    // The last element's damage runs to the end of the input.
    expect(records[6]).toMatchObject({
      error: expect.stringMatching(/; the rest of the input was skipped$/),
      text: `${texts[6]}]`,
    });
  });

  it("caps the text of a large damaged element and still resumes after it", async () => {
    const blob = "x".repeat(300 * 1024);
    const next = { eventId: "next", blob };
    // Damage seen early, 300 KiB skipped after it; damage seen only at the next element.
    for (const damaged of [`{"eventId":"big","list":[1},"blob":"${blob}"}`, `{"eventId":"big","blob":"${blob}`]) {
      const text = `[${JSON.stringify(events[1])},${damaged},${JSON.stringify(next)},${JSON.stringify(events[3])}]`;
      const records = await readEveryWay(text);
      expect(values(records)).toEqual([events[1], undefined, next, events[3]]);
      expect(positions(records)).toEqual(["element 0", "element 1", "element 2", "element 3"]);
      const note = records[1].text?.match(/ … \[cut: the record is (\d+) bytes\]$/);
      expect(Number(note?.[1])).toBe(Buffer.byteLength(damaged));
      expect(records[1].text?.startsWith('{"eventId":"big",')).toBe(true);
      expect(Buffer.byteLength(records[1].text ?? "")).toBeLessThanOrEqual(TEXT_CAP + 100);
    }
  });

  it("gives the same records whatever the chunk boundaries, wherever an array is damaged", async () => {
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    const base = JSON.stringify(events.slice(0, 4).map((event, index) => ({ ...event, note: `"q" [${index}] {x}` })));
    const edits = ['"', "}", "]", "{", "[", ",", ":", "", "\n", '},{"eventId":'];
    for (let round = 0; round < 60; round++) {
      const at = 1 + Math.floor(random() * (base.length - 2));
      const edit = edits[Math.floor(random() * edits.length)];
      const cut = random() < 0.5 ? 1 : 0;
      const text = base.slice(0, at) + edit + base.slice(at + cut);
      const records = await readEveryWay(text);
      const offsets = records.map((record) => record.byteOffset ?? 0);
      expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
    }
  });
});

describe("resynchronising a top-level array: its limits", () => {
  const [a, b, c, d, e] = samples.slice(1, 6).map((event) => JSON.stringify(event));
  const [A, , C, D, E] = samples.slice(1, 6);

  it("with no object elements there is no place to resume at: the rest of the input is one error", async () => {
    expect(await readEveryWay('[["a",1],["b",2}],["c",3]]')).toEqual([
      { value: ["a", 1], position: "element 0", byteOffset: 1 },
      {
        position: "element 1",
        byteOffset: 9,
        error: expect.stringMatching(/^not valid JSON: unexpected '}' .*; the rest of the input was skipped$/),
        text: '["b",2}],["c",3]]',
      },
    ]);
  });

  it("a new top-level value in column 0 ends the damage (JSON lines of arrays)", async () => {
    const text = `[${a},{"eventId":"x","l":[1}]\n[${c}]\n`;
    expect(await readEveryWay(text)).toEqual([
      { value: A, position: "element 0", byteOffset: 1 },
      {
        position: "element 1",
        byteOffset: a.length + 2,
        error: expect.stringMatching(/^not valid JSON: unexpected '}' at line 1/),
        text: '{"eventId":"x","l":[1}]',
      },
      { value: C, position: "line 2, element 0", byteOffset: text.indexOf(c) },
    ]);
  });

  it("an element cut short right before the next one (no ',') takes it along: the elements after are numbered one low", async () => {
    const cutB = b.slice(0, b.indexOf('"eventType"') + 6); // inside a key
    const text = `[${a},${cutB}${c},${d},${e}]`;
    const records = await readEveryWay(text);
    expect(records).toEqual([
      { value: A, position: "element 0", byteOffset: 1 },
      {
        position: "element 1",
        byteOffset: a.length + 2,
        error: expect.stringMatching(/^not valid JSON: a string is followed by/),
        text: `${cutB}${c}`,
      },
      // D and E are elements 3 and 4 of the file; their byte offsets are exact.
      { value: D, position: "element 2", byteOffset: text.indexOf(d) },
      { value: E, position: "element 3", byteOffset: text.indexOf(e) },
    ]);
  });

  it("an element cut short right before ',' and the next one is told from it by the first key", async () => {
    const cutB = b.slice(0, b.indexOf('"eventType"') + 6);
    const text = `[${a},${cutB},${c},${d}]`;
    expect(values(await readEveryWay(text))).toEqual([A, undefined, C, D]);
  });

  it("while no first key is known, any key after '}' resumes: a nested array of objects can mislead it", async () => {
    // The first element lost the quote that closes its first key, so not even its key is known.
    const damaged = '{"eventId,"tags":[{"k":1},{"k":2}]}';
    const resumeAt = 1 + damaged.indexOf('{"k":2}');
    expect(await readEveryWay(`[${damaged},${b}]`)).toEqual([
      {
        position: "element 0",
        byteOffset: 1,
        error: expect.stringMatching(
          new RegExp(
            `^not valid JSON: a string is followed by 't' .*; reading resumed at line 1 \\(byte ${resumeAt}\\)`,
          ),
        ),
        text: '{"eventId,"tags":[{"k":1}',
      },
      // The nested object is taken for element 1, and its array's ']' for the end of the array.
      { value: { k: 2 }, position: "element 1", byteOffset: resumeAt },
      {
        position: "line 1",
        byteOffset: resumeAt + 8,
        error: expect.stringMatching(/^not valid JSON: unexpected '}' .*; the rest of the input was skipped$/),
        text: `},${b}]`,
      },
    ]);
    // Once a first key is known, only it resumes: the same damage costs only itself.
    const records = await readEveryWay(`[${a},${damaged},${b}]`);
    expect(values(records)).toEqual([A, undefined, samples[2]]);
    expect(records[1].text).toBe(damaged);
  });

  it("a stray '}' that closes an element early: the part before it is read as the element", async () => {
    const text = `[${a},{"eventId":"x","o":{"p":1}},"q":2},${c}]`;
    expect(await readEveryWay(text)).toEqual([
      { value: A, position: "element 0", byteOffset: 1 },
      { value: { eventId: "x", o: { p: 1 } }, position: "element 1", byteOffset: a.length + 2 },
      {
        position: "element 2",
        byteOffset: text.indexOf('"q"'),
        error: expect.stringMatching(/^not valid JSON: unexpected ':' after the element/),
        text: '"q":2}',
      },
      { value: C, position: "element 3", byteOffset: text.indexOf(c) },
    ]);
  });

  it("a stray ']' ends the array: what follows is read as top-level values", async () => {
    const text = `[${a},${b}],${c}]`;
    expect(await readEveryWay(text)).toEqual([
      { value: A, position: "element 0", byteOffset: 1 },
      { value: samples[2], position: "element 1", byteOffset: a.length + 2 },
      { value: C, position: "line 1", byteOffset: text.indexOf(c) },
      {
        position: "line 1",
        byteOffset: text.length - 1,
        error: `not valid JSON: unexpected ']' at line 1 (byte ${text.length - 1})`,
        text: "]",
      },
    ]);
  });
});

describe("top-level values: JSON lines, concatenated values, one document", () => {
  const lines = samples.slice(0, 8).map((event) => JSON.stringify(event));

  it("reads JSON lines, each record at the line where it starts", async () => {
    const records = await readEveryWay(lines.join("\n") + "\n");
    expect(values(records)).toEqual(samples.slice(0, 8));
    expect(positions(records)).toEqual(lines.map((_, index) => `line ${index + 1}`));
    expect(records[1].byteOffset).toBe(lines[0].length + 1);
  });

  it("a line cut right after a backslash inside a string costs only that line", async () => {
    // The backslash must not escape the newline: that would swallow the next line.
    const text = [lines[0], '{"eventId": "cut", "note": "abc\\', lines[1], lines[2]].join("\n") + "\n";
    const records = await readEveryWay(text);
    expect(positions(records)).toEqual(["line 1", "line 2", "line 3", "line 4"]);
    expect(records[1].error).toMatch(/a string is not closed/);
    expect(values([records[0], records[2], records[3]])).toEqual([samples[0], samples[1], samples[2]]);
  });

  it("a broken line costs only that line, whichever way it is broken", async () => {
    const text = [
      lines[0], //                                       line 1
      unquotedMasked(samples[1]), //                     line 2: brackets balance, not JSON
      lines[2], //                                       line 3
      "", //                                             line 4: blank
      lines[3].slice(0, 200), //                         line 5: cut inside a string or value
      lines[4], //                                       line 6
      '{"eventId": "cut-after-comma", "list": [1,', //   line 7: cut outside a string
      lines[5], //                                       line 8
      '{"eventId": "extra"}} trailing junk', //          line 9: a value, then junk
      lines[6], //                                       line 10
      "hello, not JSON at all", //                       line 11
      lines[7], //                                       line 12
    ].join("\n");
    const records = await readEveryWay(text);
    expect(values(records.filter((record) => !record.error))).toEqual([
      samples[0],
      samples[2],
      samples[4],
      samples[5],
      { eventId: "extra" },
      samples[6],
      samples[7],
    ]);
    expect(errors(records).map((record) => record.position)).toEqual([
      "line 2",
      "line 5",
      "line 7",
      "line 9",
      "line 11",
    ]);
    for (const record of errors(records)) expect(record.error).toMatch(/^not valid JSON: /);
    expect(errors(records)[1].text).toBe(lines[3].slice(0, 200));
  });

  it("a broken first line does not hide the next ones (CRLF)", async () => {
    for (const first of ['{"eventId": "cut-off", "eventTime": "2021-08-0', '{"eventId": "cut-off", "n": [1, 2']) {
      const text = [first, lines[0], lines[1]].join("\r\n");
      const records = await readEveryWay(text);
      expect(records.map((record) => record.error === undefined)).toEqual([false, true, true]);
      expect(positions(records)).toEqual(["line 1", "line 2", "line 3"]);
      expect(values(records).slice(1)).toEqual([samples[0], samples[1]]);
      expect(records[0].text).toBe(first);
    }
  });

  it("reads CRLF line endings", async () => {
    const records = await readEveryWay(lines.join("\r\n") + "\r\n");
    expect(values(records)).toEqual(samples.slice(0, 8));
    expect(positions(records)).toEqual(lines.map((_, index) => `line ${index + 1}`));
  });

  it("reads concatenated objects, compact or pretty-printed, with or without separators", async () => {
    const [a, b, c] = samples;
    const text = `${JSON.stringify(a)}${JSON.stringify(b)}\n${JSON.stringify(c, null, 2)}\n${JSON.stringify(a, null, 2)}`;
    const records = await readEveryWay(text);
    expect(values(records)).toEqual([a, b, c, a]);
    const cLine = 2;
    const aLine = cLine + JSON.stringify(c, null, 2).split("\n").length;
    expect(positions(records)).toEqual(["line 1", "line 1", `line ${cLine}`, `line ${aLine}`]);
    // Commas between top-level values are tolerated.
    expect(values(await readEveryWay('{"a":1},\n{"b":2},\n'))).toEqual([{ a: 1 }, { b: 2 }]);
  });

  it("calls a single top-level value the document", async () => {
    expect(await readEveryWay(JSON.stringify(samples[0], null, 2) + "\n")).toEqual([
      { value: samples[0], position: "document", byteOffset: 0 },
    ]);
    expect(await readEveryWay(" 42 ")).toEqual([{ value: 42, position: "document", byteOffset: 1 }]);
    expect(await readEveryWay('"text"')).toEqual([{ value: "text", position: "document", byteOffset: 0 }]);
    expect(await readEveryWay("null\n")).toEqual([{ value: null, position: "document", byteOffset: 0 }]);
    expect(await readEveryWay("1\n2\n")).toEqual([
      { value: 1, position: "line 1", byteOffset: 0 },
      { value: 2, position: "line 2", byteOffset: 2 },
    ]);
    const [bad] = await readEveryWay("nope");
    expect(bad).toMatchObject({ position: "document", error: expect.stringMatching(/not valid JSON/), text: "nope" });
  });

  it("reports a pretty-printed value cut off at the end as one error", async () => {
    const text = JSON.stringify(samples[0], null, 2);
    const cut = text.slice(0, text.length - 40);
    const records = await readEveryWay(`${JSON.stringify(samples[1])}\n${cut}`);
    expect(records.map((record) => record.position)).toEqual(["line 1", "line 2"]);
    expect(records[0].value).toEqual(samples[1]);
    expect(records[1].error).toMatch(/^not valid JSON/);
  });
});

describe("inputs cut anywhere", () => {
  const events = samples.slice(0, 4).map((event, index) => ({ ...event, note: `"quoted" [${index}] {x}` }));

  it("JSON lines: every line complete before the cut is read, the rest is at most one error", async () => {
    const lines = events.map((event) => JSON.stringify(event));
    const text = lines.join("\n") + "\n";
    const ends = lines.map((line) => text.indexOf(line) + line.length);
    for (let cut = 0; cut <= text.length; cut += 3) {
      const { records, error } = await read(text.slice(0, cut), 5);
      expect(error).toBeUndefined();
      const complete = ends.filter((end) => end <= cut).length;
      expect(values(records.filter((record) => !record.error))).toEqual(events.slice(0, complete));
      expect(errors(records).length).toBeLessThanOrEqual(1);
    }
  });

  it("an array: every element complete before the cut is read, the rest is one error", async () => {
    const text = JSON.stringify(events, null, 2);
    const bytes = Buffer.from(text);
    const full = await readEveryWay(text);
    const ends = full.map(
      (record, index) =>
        (record.byteOffset ?? 0) + JSON.stringify(events[index], null, 2).replace(/\n/g, "\n  ").length,
    );
    for (let cut = 1; cut < bytes.length; cut += 3) {
      const { records, error } = await read(bytes.subarray(0, cut), 5);
      expect(error).toBeUndefined();
      const complete = ends.filter((end) => end <= cut).length;
      expect(values(records.filter((record) => !record.error))).toEqual(events.slice(0, complete));
      expect(errors(records)).toHaveLength(1);
    }
  });

  it("gives the same records whatever the chunk boundaries", async () => {
    let seed = 42;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    const text = Buffer.from(
      [
        JSON.stringify(events, null, 2),
        JSON.stringify({ RequestId: "r", Events: events }),
        unquotedMasked(samples[5]),
        '{"eventId": "cut", "list": [1,',
        JSON.stringify({ __topic__: "actiontrail_audit_event", event: JSON.stringify(events[0]) }),
        "\ufeffjunk",
        JSON.stringify(events[1]),
      ].join("\n"),
    );
    const expected = (await read(text)).records;
    expect(expected.length).toBeGreaterThan(10);
    for (let round = 0; round < 20; round++) {
      const chunks: Buffer[] = [];
      for (let offset = 0; offset < text.length;) {
        const size = 1 + Math.floor(random() * (random() < 0.5 ? 8 : 300));
        chunks.push(text.subarray(offset, offset + size));
        offset += size;
      }
      const records: RawRecord[] = [];
      for await (const record of readRecords(chunks)) records.push(record);
      expect(records).toEqual(expected);
    }
  });
});

describe("SLS records and LookupEvents pages", () => {
  const sls = (event: unknown) => ({
    __topic__: "actiontrail_audit_event",
    __source__: "actiontrail",
    __time__: 1627885817,
    event,
  });

  it("unwraps SLS records in JSON lines, the event as a string or as an object", async () => {
    const text = [
      JSON.stringify(sls(JSON.stringify(samples[0]))),
      JSON.stringify(sls(samples[1])),
      JSON.stringify(sls('{"eventId": "broken", ')),
      JSON.stringify(sls(JSON.stringify(samples[2]))),
    ].join("\n");
    const records = await readEveryWay(text);
    expect(records).toEqual([
      { value: samples[0], position: "line 1", byteOffset: 0 },
      { value: samples[1], position: "line 2", byteOffset: expect.any(Number) },
      {
        error: expect.stringMatching(/^SLS record's event field is not valid JSON: /),
        position: "line 3",
        byteOffset: expect.any(Number),
        text: '{"eventId": "broken", ',
      },
      { value: samples[2], position: "line 4", byteOffset: expect.any(Number) },
    ]);
  });

  it("unwraps SLS records in an array", async () => {
    const text = JSON.stringify([sls(JSON.stringify(samples[0])), sls(samples[1])], null, 2);
    expect(await readEveryWay(text)).toEqual([
      { value: samples[0], position: "element 0", byteOffset: 4 },
      { value: samples[1], position: "element 1", byteOffset: expect.any(Number) },
    ]);
  });

  const page = (events: unknown[], token?: string) => ({
    RequestId: "5A8B3E2C-1D2F-4E5A-9B6C-7D8E9F0A1B2C",
    StartTime: "2021-08-01T00:00:00Z",
    EndTime: "2021-09-01T00:00:00Z",
    ...(token ? { NextToken: token } : {}),
    Events: events,
  });

  it("gives one record per event of a single LookupEvents page", async () => {
    const records = await readEveryWay(JSON.stringify(page(samples.slice(0, 3), "t1"), null, 2));
    expect(values(records)).toEqual(samples.slice(0, 3));
    expect(positions(records)).toEqual(["Events[0]", "Events[1]", "Events[2]"]);
    expect(await readEveryWay(JSON.stringify(page([])))).toEqual([]);
  });

  it("reads concatenated pages, compact and pretty-printed", async () => {
    const first = JSON.stringify(page(samples.slice(0, 2), "t1"), null, 2);
    const second = JSON.stringify(page(samples.slice(2, 5)), null, 2);
    const pretty = await readEveryWay(`${first}\n${second}\n`);
    expect(values(pretty)).toEqual(samples.slice(0, 5));
    const secondLine = first.split("\n").length + 1;
    expect(positions(pretty)).toEqual([
      "line 1, Events[0]",
      "line 1, Events[1]",
      `line ${secondLine}, Events[0]`,
      `line ${secondLine}, Events[1]`,
      `line ${secondLine}, Events[2]`,
    ]);
    const compact = await readEveryWay(
      [page(samples.slice(0, 2)), page(samples.slice(2, 3))].map((p) => JSON.stringify(p)).join("\n"),
    );
    expect(positions(compact)).toEqual(["line 1, Events[0]", "line 1, Events[1]", "line 2, Events[0]"]);
    const inArray = await readEveryWay(JSON.stringify([page(samples.slice(0, 1)), page(samples.slice(1, 3))]));
    expect(positions(inArray)).toEqual(["element 0, Events[0]", "element 1, Events[0]", "element 1, Events[1]"]);
    expect(values(inArray)).toEqual(samples.slice(0, 3));
  });
});

describe("gzip", () => {
  const fixtures: Record<string, string> = {
    "pretty array": JSON.stringify(samples.slice(0, 20), null, 2),
    "minified array": JSON.stringify(samples),
    "JSON lines": samples.map((event) => JSON.stringify(event)).join("\n") + "\n",
    "JSON lines with a broken line": [JSON.stringify(samples[0]), unquotedMasked(samples[1]), "{", "[1,"].join("\n"),
    "SLS lines": samples
      .slice(0, 5)
      .map((event) => JSON.stringify({ __topic__: "actiontrail_audit_event", event: JSON.stringify(event) }))
      .join("\n"),
    "LookupEvents pages": [0, 50]
      .map((from) => JSON.stringify({ RequestId: "r", Events: samples.slice(from, from + 50) }, null, 2))
      .join("\n"),
    "one object": JSON.stringify(samples[0]),
    "BOM + CRLF": "\ufeff" + samples.map((event) => JSON.stringify(event)).join("\r\n"),
    empty: "",
  };

  for (const [name, text] of Object.entries(fixtures)) {
    it(`reads ${name} gzipped as it reads it plain`, async () => {
      const plain = await readEveryWay(text);
      expect(await readEveryWay(gzipSync(text))).toEqual(plain);
      // A .gz of a .gz.
      expect((await read(gzipSync(gzipSync(text)))).records).toEqual(plain);
    });
  }

  it("reads several gzip members one after the other (cat a.gz b.gz)", async () => {
    const text = JSON.stringify(samples);
    const bytes = Buffer.from(text);
    const cuts = [0, 1000, 1001, 30_000, bytes.length];
    const members = cuts.slice(1).map((end, index) => gzipSync(bytes.subarray(cuts[index], end)));
    const records = await readEveryWay(Buffer.concat(members));
    expect(values(records)).toEqual(samples);
    expect(records.map((record) => record.byteOffset)).toEqual((await readEveryWay(text)).map((r) => r.byteOffset));
  });

  it("yields the records read before a truncation, then throws InputError", async () => {
    const events = Array.from({ length: 3000 }, (_, index) => ({ ...samples[index % samples.length], n: index }));
    const text = JSON.stringify(events, null, 1);
    const compressed = gzipSync(text);
    for (const keep of [0.25, 0.5, 0.9, 0.999]) {
      const truncated = compressed.subarray(0, Math.floor(compressed.length * keep));
      // Everything zlib can decompress from the truncated file, read as plain text.
      const available = gunzipSync(truncated, { finishFlush: zlibConstants.Z_SYNC_FLUSH });
      const complete = (await read(available)).records.filter((record) => !record.error);
      for (const step of [7, 64 * 1024]) {
        const { records, error } = await read(truncated, step);
        expect(error).toBeInstanceOf(InputError);
        const inputError = error as InputError;
        expect(inputError.message).toMatch(
          /^damaged or truncated gzip data \(unexpected end of file\) after \d+ decompressed bytes and \d+ records/,
        );
        expect(inputError.recordsRead).toBe(records.length);
        expect(records.length).toBeGreaterThan(0);
        expect(records.every((record) => record.error === undefined)).toBe(true);
        // The records read are the file's first records, and none complete before the damage is missing.
        expect(values(records)).toEqual(events.slice(0, records.length));
        expect(records.length).toBe(complete.length);
        expect(inputError.bytesRead).toBeLessThanOrEqual(available.length);
      }
    }
  });

  it("throws InputError for garbage after the gzip magic bytes, with no records", async () => {
    const garbage = Buffer.concat([Buffer.from([0x1f, 0x8b]), Buffer.from("this is not deflate data at all")]);
    for (const step of CHUNKINGS) {
      const { records, error } = await read(garbage, step);
      expect(records).toEqual([]);
      expect(error).toBeInstanceOf(InputError);
      expect((error as InputError).message).toMatch(
        /^damaged or truncated gzip data .* after 0 decompressed bytes and 0 records/,
      );
    }
    expect((await read(Buffer.from([0x1f, 0x8b]))).error).toBeInstanceOf(InputError);
  });

  it("throws InputError for a corrupt checksum after the records before it", async () => {
    const events = Array.from({ length: 2000 }, (_, index) => ({ ...samples[index % samples.length], n: index }));
    const compressed = Buffer.from(gzipSync(events.map((event) => JSON.stringify(event)).join("\n")));
    compressed[compressed.length - 6] ^= 0xff; // the CRC32 in the trailer
    const { records, error } = await read(compressed);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).message).toMatch(/incorrect data check/);
    expect(records.length).toBeGreaterThan(1500);
    expect(values(records)).toEqual(events.slice(0, records.length));
  });
});

describe("edge cases", () => {
  it("reads nothing from an empty or blank input", async () => {
    expect(await readEveryWay("")).toEqual([]);
    expect(await readEveryWay(" \n\r\n\t ")).toEqual([]);
    expect(await readEveryWay("\ufeff")).toEqual([]);
  });

  it("skips a UTF-8 byte order mark (offsets still count it)", async () => {
    expect(await readEveryWay('\ufeff[{"eventId":"a"}]')).toEqual([
      { value: { eventId: "a" }, position: "element 0", byteOffset: 4 },
    ]);
    expect(await readEveryWay('\ufeff{"eventId":"a"}\n{"eventId":"b"}')).toEqual([
      { value: { eventId: "a" }, position: "line 1", byteOffset: 3 },
      { value: { eventId: "b" }, position: "line 2", byteOffset: 19 },
    ]);
  });

  it("rejects a record larger than maxRecordBytes without keeping it whole, and goes on", async () => {
    const small = [
      { eventId: "a", n: 1 },
      { eventId: "b", list: [1, 2, 3] },
    ];
    const big = { eventId: "big", blob: "x".repeat(5000) };
    const text = JSON.stringify([small[0], big, small[1]]);
    const records = await readEveryWay(text, { maxRecordBytes: 1000 });
    expect(values(records)).toEqual([small[0], undefined, small[1]]);
    expect(records[1]).toMatchObject({
      position: "element 1",
      error: `record larger than 1000 bytes (${JSON.stringify(big).length} bytes)`,
      byteOffset: JSON.stringify(small[0]).length + 2,
    });
    expect(records[1].text?.startsWith('{"eventId":"big","blob":"xxx')).toBe(true);

    const lines = [JSON.stringify(small[0]), JSON.stringify(big), JSON.stringify(small[1])].join("\n");
    const fromLines = await readEveryWay(lines, { maxRecordBytes: 1000 });
    expect(fromLines.map((record) => [record.position, record.error === undefined])).toEqual([
      ["line 1", true],
      ["line 2", false],
      ["line 3", true],
    ]);
  });

  it("caps the text of a huge rejected record at 64 KiB, with a note", async () => {
    const blob = "é".repeat(9 * 1024 * 1024); // 18 MiB of UTF-8, larger than the default limit
    const text = `[{"eventId":"a"},{"blob":"${blob}"},{"eventId":"b"}]`;
    const { records, error } = await read(text);
    expect(error).toBeUndefined();
    expect(values(records)).toEqual([{ eventId: "a" }, undefined, { eventId: "b" }]);
    expect(records[1].error).toMatch(/^record larger than 16777216 bytes/);
    const note = records[1].text?.match(/ … \[cut: the record is (\d+) bytes\]$/);
    expect(Number(note?.[1])).toBe(Buffer.byteLength(`{"blob":"${blob}"}`));
    expect(Buffer.byteLength(records[1].text ?? "")).toBeLessThanOrEqual(TEXT_CAP + 100);
    expect(records[1].text).not.toContain("\ufffd");
  });

  it("reads a record as large as the limit", async () => {
    const event = { eventId: "large", blob: "y".repeat(20_000) };
    const text = JSON.stringify(event);
    expect(await readEveryWay(text, { maxRecordBytes: text.length })).toEqual([
      { value: event, position: "document", byteOffset: 0 },
    ]);
  });

  it("accepts a Readable, string chunks and a plain array of chunks", async () => {
    const text = JSON.stringify(samples.slice(0, 3));
    const fromReadable: RawRecord[] = [];
    for await (const record of readRecords(Readable.from([Buffer.from(text)]))) fromReadable.push(record);
    expect(values(fromReadable)).toEqual(samples.slice(0, 3));
    const fromStrings: RawRecord[] = [];
    for await (const record of readRecords([text.slice(0, 10), text.slice(10)])) fromStrings.push(record);
    expect(fromStrings).toEqual(fromReadable);
    // One chunk of several MiB (scanned in slices).
    const many = Array.from({ length: 4000 }, (_, index) => ({ ...samples[index % samples.length], n: index }));
    const big = Buffer.from(JSON.stringify(many));
    expect(big.length).toBeGreaterThan(3 * 1024 * 1024);
    const fromOneChunk: RawRecord[] = [];
    for await (const record of readRecords([big])) fromOneChunk.push(record);
    expect(fromOneChunk).toEqual((await read(big)).records);
    expect(values(fromOneChunk)).toEqual(many);
  });

  it("reports an SLS CSV export (not supported) as unreadable records, not as a failure", async () => {
    const csv = [
      "__topic__,__source__,event",
      `actiontrail_audit_event,actiontrail,"${JSON.stringify(samples[0]).replace(/"/g, '""')}"`,
    ].join("\n");
    const { records, error } = await read(csv);
    expect(error).toBeUndefined();
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ position: "document", error: expect.stringMatching(/^not valid JSON/) });
  });

  it("stops reading the input when the caller stops early", async () => {
    const stream = Readable.from(
      (function* () {
        for (let index = 0; index < 1000; index++) yield Buffer.from(JSON.stringify(samples[0]) + "\n");
      })(),
    );
    let count = 0;
    for await (const record of readRecords(stream)) {
      expect(record.error).toBeUndefined();
      if (++count === 3) break;
    }
    expect(stream.destroyed).toBe(true);
  });

  it("passes on an error of the input stream", async () => {
    const failing = (async function* () {
      yield Buffer.from(JSON.stringify(samples[0]) + "\n");
      throw new Error("disk on fire");
    })();
    const records: RawRecord[] = [];
    await expect(async () => {
      for await (const record of readRecords(failing)) records.push(record);
    }).rejects.toThrow("disk on fire");
    expect(values(records)).toEqual([samples[0]]);
  });

  it("refuses containers it cannot read, saying what they are", async () => {
    await expect(read(Buffer.from("PK\u0003\u0004rest of a zip file"))).resolves.toMatchObject({
      records: [],
      error: expect.objectContaining({ name: "InputError", message: expect.stringMatching(/zip archive/) }),
    });
    const { error } = await read(Buffer.from("\ufeff[1]", "utf16le"));
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toMatch(/UTF-16/);
  });
});

describe("invalid UTF-8", () => {
  const CASES: Array<{ name: string; bytes: number[]; shown: string }> = [
    { name: "a lone continuation byte", bytes: [0x80], shown: "80: a continuation byte with no lead byte" },
    { name: "an overlong 2-byte encoding of '/'", bytes: [0xc0, 0xaf], shown: "c0: an overlong encoding" },
    { name: "an overlong 3-byte encoding", bytes: [0xe0, 0x80, 0xaf], shown: "e0 80: an overlong encoding" },
    { name: "a sequence cut short", bytes: [0xe6, 0x9d], shown: "e6 9d: a 3-byte sequence cut short" },
    { name: "a lead byte at the end of a string", bytes: [0xf0], shown: "f0: a 4-byte sequence cut short" },
    { name: "0xff", bytes: [0xff], shown: "ff: a byte that never occurs in UTF-8" },
    { name: "a UTF-16 surrogate", bytes: [0xed, 0xa0, 0x80], shown: "ed a0: a UTF-16 surrogate" },
    {
      name: "a code point above U+10FFFF",
      bytes: [0xf4, 0x90, 0x80, 0x80],
      shown: "f4 90: a code point above U+10FFFF",
    },
  ];
  const [a, c] = [samples[1], samples[3]];

  for (const { name, bytes, shown } of CASES) {
    it(`rejects a record holding ${name}, with its byte offset; its neighbours are read`, async () => {
      const bad = Buffer.concat([
        Buffer.from('{"eventId":"b","userAgent":"Aliyun 杭州'),
        Buffer.from(bytes),
        Buffer.from('"}'),
      ]);
      for (const [open, separator, close, position] of [
        ["[", ",", "]", "element 1"],
        ["", "\n", "\n", "line 2"],
      ]) {
        const input = Buffer.concat([
          Buffer.from(open + JSON.stringify(a) + separator),
          bad,
          Buffer.from(separator + JSON.stringify(c) + close),
        ]);
        const records = await readEveryWay(input);
        expect(values(records)).toEqual([a, undefined, c]);
        const start = input.indexOf(bad);
        expect(records[1]).toEqual({
          position,
          byteOffset: start,
          error: `not valid UTF-8: invalid byte sequence at byte offset ${start + bad.lastIndexOf(Buffer.from(bytes))} (${shown}); records must be UTF-8 text`,
          text: expect.stringContaining('{"eventId":"b","userAgent":"Aliyun 杭州'),
        });
      }
    });
  }

  it("reads valid multi-byte UTF-8: CJK, emoji, combining marks, 4-byte characters", async () => {
    const event = {
      eventId: "杭州-上海",
      userAgent: "☁️ 👩‍💻 🇨🇳 𝄞",
      userName: "José Müller",
      note: "e\u0301 a\u0308 n\u0303",
    };
    expect(values(await readEveryWay(`[${JSON.stringify(samples[1])},${JSON.stringify(event)}]`))).toEqual([
      samples[1],
      event,
    ]);
    expect(values(await readEveryWay(`${JSON.stringify(event)}\n${JSON.stringify(event, null, 2)}\n`))).toEqual([
      event,
      event,
    ]);
  });
});

describe("nesting depth", () => {
  const REASON = `nested more than ${MAX_JSON_DEPTH} levels deep (arrays and objects); at most ${MAX_JSON_DEPTH} can be stored`;

  /** An event nested `depth` levels deep, the event itself being level 1, by arrays or by objects. */
  function nested(depth: number, by: "arrays" | "objects"): string {
    const levels = depth - 1;
    const value =
      by === "arrays"
        ? "[".repeat(levels) + "]".repeat(levels)
        : '{"a":'.repeat(levels - 1) + "{}" + "}".repeat(levels - 1);
    return `{"eventId":"deep-${depth}","v":${value}}`;
  }

  it('counts levels as the limit does: the event is level 1, {"a":[{}]} is 3', () => {
    expect(nested(3, "arrays")).toBe('{"eventId":"deep-3","v":[[]]}');
    expect(nested(3, "objects")).toBe('{"eventId":"deep-3","v":{"a":{}}}');
  });

  for (const by of ["arrays", "objects"] as const) {
    it(`accepts ${MAX_JSON_DEPTH} levels (${by}), rejects ${MAX_JSON_DEPTH + 1} and 100,000 without parsing them; neighbours are read`, async () => {
      const good = JSON.stringify(samples[1]);
      const records = [nested(MAX_JSON_DEPTH, by), nested(MAX_JSON_DEPTH + 1, by), nested(100_000, by)];
      for (const [open, separator, close, label] of [
        ["[", ",", "]", "element "],
        ["", "\n", "\n", "line "],
      ]) {
        const text = open + [good, ...records, good].join(separator) + close;
        const steps = by === "arrays" ? CHUNKINGS : [7, 64 * 1024];
        const results = await Promise.all(steps.map((step) => read(text, step)));
        for (const result of results) expect(result).toEqual(results[0]);
        const read_ = results[0];
        expect(read_.error).toBeUndefined();
        const got = read_.records;
        const first = label === "line " ? 1 : 0;
        expect(positions(got)).toEqual([0, 1, 2, 3, 4].map((index) => `${label}${index + first}`));
        expect(values(got)).toEqual([samples[1], JSON.parse(records[0]), undefined, undefined, samples[1]]);
        expect(got[2]).toEqual({
          position: `${label}${2 + first}`,
          byteOffset: text.indexOf(records[1]),
          error: REASON,
          text: records[1],
        });
        expect(got[3]).toMatchObject({ byteOffset: text.indexOf(records[2]), error: REASON });
        // Not held whole: its text is cut like an oversize record's.
        expect(got[3].text).toMatch(
          new RegExp(`^\\{"eventId":"deep-100000".* … \\[cut: the record is ${records[2].length} bytes\\]$`),
        );
        expect(Buffer.byteLength(got[3].text ?? "")).toBeLessThanOrEqual(TEXT_CAP + 100);
      }
    });
  }

  it("rejects an array element that is itself 100,000 arrays deep, and a JSON line of one", async () => {
    const deep = "[".repeat(100_000) + "]".repeat(100_000);
    const good = JSON.stringify(samples[1]);
    const inArray = await readEveryWay(`[${good},${deep},${good}]`);
    expect(inArray).toEqual([
      { value: samples[1], position: "element 0", byteOffset: 1 },
      { position: "element 1", byteOffset: good.length + 2, error: REASON, text: expect.any(String) },
      { value: samples[1], position: "element 2", byteOffset: good.length + deep.length + 3 },
    ]);
    // A line of it is a top-level array: its one element (99,999 deep) is what is rejected.
    const lines = await readEveryWay(`${good}\n${deep}\n${good}\n`);
    expect(lines).toEqual([
      { value: samples[1], position: "line 1", byteOffset: 0 },
      { position: "line 2, element 0", byteOffset: good.length + 2, error: REASON, text: expect.any(String) },
      { value: samples[1], position: "line 3", byteOffset: good.length + deep.length + 2 },
    ]);
    for (const record of [inArray[1], lines[1]])
      expect(Buffer.byteLength(record.text ?? "")).toBeLessThan(TEXT_CAP + 100);
  });

  it("measures a LookupEvents page's and an SLS record's events, not the wrapper", async () => {
    const event = (depth: number) => JSON.parse(nested(depth, "arrays")) as unknown;
    const page = (depth: number) =>
      `{"RequestId":"r","Events":[${JSON.stringify(samples[1])},${nested(depth, "arrays")}]}`;
    const sls = (depth: number) => `{"__topic__":"actiontrail_audit_event","event":${nested(depth, "arrays")}}`;
    // The page is 2 levels above its events, the SLS record 1.
    expect(values(await readEveryWay(`${page(MAX_JSON_DEPTH)}\n${sls(MAX_JSON_DEPTH)}\n`))).toEqual([
      samples[1],
      event(MAX_JSON_DEPTH),
      event(MAX_JSON_DEPTH),
    ]);
    const records = await readEveryWay(`${page(MAX_JSON_DEPTH + 1)}\n${sls(MAX_JSON_DEPTH + 1)}\n`);
    // A page deeper than its events may be is rejected whole.
    expect(records).toEqual([
      { position: "line 1", byteOffset: 0, error: REASON, text: page(MAX_JSON_DEPTH + 1) },
      { position: "line 2", byteOffset: page(MAX_JSON_DEPTH + 1).length + 1, error: REASON, text: expect.any(String) },
    ]);
  });

  it("gives the depth reason when JSON.parse runs out of stack (engines that parse recursively)", async () => {
    const parse = JSON.parse;
    const spy = vi.spyOn(JSON, "parse").mockImplementation((text: string, reviver?: Parameters<typeof parse>[1]) => {
      if (text.startsWith('{"eventId":"too-deep"')) throw new RangeError("Maximum call stack size exceeded");
      return parse(text, reviver) as unknown;
    });
    try {
      const sls = JSON.stringify({ __topic__: "actiontrail_audit_event", event: '{"eventId":"too-deep"}' });
      expect(await readEveryWay(`{"eventId":"too-deep"}\n${sls}\n`)).toEqual([
        { position: "line 1", byteOffset: 0, error: REASON, text: '{"eventId":"too-deep"}' },
        { position: "line 2", byteOffset: 23, error: REASON, text: '{"eventId":"too-deep"}' },
      ]);
    } finally {
      spy.mockRestore();
    }
  });
});

describe("bounded memory on large inputs", () => {
  const TARGET = 200 * 1024 * 1024;
  const templates = samples.map((event) => JSON.stringify({ ...event, eventId: "@ID@" }).split('"@ID@"'));

  /** A Readable producing ~TARGET bytes of events (an array or JSON lines), generated as it is read. */
  function generated(kind: "array" | "lines"): { stream: Readable; produced: () => { events: number; bytes: number } } {
    let events = 0;
    let bytes = 0;
    let done = false;
    const stream = new Readable({
      read() {
        if (done) return;
        const parts: string[] = [];
        let size = 0;
        if (events === 0 && kind === "array") parts.push("[\n");
        while (size < 256 * 1024 && bytes + size < TARGET) {
          const [head, tail] = templates[events % templates.length];
          const event = `${head}"ev-${events.toString(36).padStart(10, "0")}"${tail}`;
          const part = kind === "array" ? (events > 0 ? ",\n" : "") + event : event + "\n";
          parts.push(part);
          size += part.length;
          events++;
        }
        if (bytes + size >= TARGET) {
          if (kind === "array") parts.push("\n]\n");
          done = true;
        }
        const chunk = Buffer.from(parts.join(""));
        bytes += chunk.length;
        this.push(chunk);
        if (done) this.push(null);
      },
    });
    return { stream, produced: () => ({ events, bytes }) };
  }

  for (const [kind, gzip] of [
    ["array", false],
    ["lines", false],
    ["array", true],
  ] as const) {
    const name = `${kind === "array" ? "a JSON array" : "JSON lines"}${gzip ? ", gzipped on the fly" : ""}`;
    it(`reads ~200 MB of ${name} with RSS under 250 MB`, async () => {
      const { stream: plain, produced } = generated(kind);
      const stream = gzip ? plain.pipe(createGzip({ level: 1 })) : plain;
      const before = process.memoryUsage().rss;
      let peak = before;
      let count = 0;
      let bad = 0;
      let lastId = "";
      const started = process.hrtime.bigint();
      for await (const record of readRecords(stream)) {
        count++;
        if (record.error !== undefined) bad++;
        if ((count & 1023) === 0) {
          peak = Math.max(peak, process.memoryUsage().rss);
          lastId = (record.value as { eventId: string }).eventId;
        }
      }
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      peak = Math.max(peak, process.memoryUsage().rss);
      const { events, bytes } = produced();
      const mb = (value: number) => (value / 1024 / 1024).toFixed(0);
      console.log(
        `readRecords, ${name}: ${mb(bytes)} MiB, ${count} records in ${seconds.toFixed(2)} s ` +
          `(${(bytes / 1024 / 1024 / seconds).toFixed(0)} MiB/s including generation${gzip ? ", gzip, gunzip" : ""} and JSON.parse); ` +
          `RSS ${mb(before)} MiB before, peak ${mb(peak)} MiB`,
      );
      expect(bytes).toBeGreaterThanOrEqual(TARGET);
      expect(count).toBe(events);
      expect(bad).toBe(0);
      expect(lastId).toMatch(/^ev-/);
      expect(peak).toBeLessThan(250 * 1024 * 1024);
    }, 120_000);
  }
});
