import { readFileSync } from "node:fs";
import { Readable } from "node:stream";
import { createGzip, gzipSync, gunzipSync, constants as zlibConstants } from "node:zlib";
import { describe, expect, it } from "vitest";
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

  it("when the structure breaks, yields what came before and one error for the rest", async () => {
    const good = JSON.stringify(samples[0]);
    const mismatched = `[${good},\n{"eventId": "x", "list": [1, 2}, ${good}, ${good}]`;
    const records = await readEveryWay(mismatched);
    expect(records).toHaveLength(2);
    expect(records[0]).toEqual({ value: samples[0], position: "element 0", byteOffset: 1 });
    expect(records[1]).toMatchObject({
      position: "element 1",
      byteOffset: good.length + 3,
      error: expect.stringMatching(/^not valid JSON: unexpected '}' at line 2 .*the rest of the input was skipped/),
    });
    expect(records[1].text).toContain('{"eventId": "x", "list": [1, 2}');

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

describe("top-level values: JSON lines, concatenated values, one document", () => {
  const lines = samples.slice(0, 8).map((event) => JSON.stringify(event));

  it("reads JSON lines, each record at the line where it starts", async () => {
    const records = await readEveryWay(lines.join("\n") + "\n");
    expect(values(records)).toEqual(samples.slice(0, 8));
    expect(positions(records)).toEqual(lines.map((_, index) => `line ${index + 1}`));
    expect(records[1].byteOffset).toBe(lines[0].length + 1);
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
