import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ingest, type IngestSummary } from "../../src/ingest/ingest";
import { bufferSource, type EventSource } from "../../src/ingest/sources";
import { dataOf, openTestStore, type TestStore } from "../support/harness";
import { storesUnderTest } from "../support/stores";

const samples = JSON.parse(readFileSync("samples/events.json", "utf8")) as Record<string, unknown>[];

/** An EventSource over a document's text, read as the file source reads a file. */
function textSource(text: string, name: string): EventSource {
  return bufferSource(name, text);
}

async function storedEventIds(store: TestStore): Promise<string[]> {
  const rows: Array<{ event_id: string }> = await store.dataSource.query("SELECT event_id FROM events");
  return rows.map((row) => row.event_id).sort();
}

async function totalCount(store: TestStore): Promise<number> {
  return dataOf(await store.graphql("{ events { totalCount } }")).events.totalCount;
}

async function eventById(store: TestStore, eventId: string) {
  return dataOf(await store.graphql(`query($id: ID!) { event(eventId: $id) { eventId eventName } }`, { id: eventId }))
    .event;
}

describe.each(storesUnderTest())("bad records in a JSON array ($kind)", ({ kind, available }) => {
  let store: TestStore;
  let summary: IngestSummary;
  const good = [samples[0], samples[1], samples[2], samples[61]];
  const { eventId: _omitted, ...withoutId } = samples[3];
  const document = [
    good[0], //                                              element 0
    42, //                                                   element 1: not an object
    withoutId, //                                            element 2: no eventId
    good[1], //                                              element 3
    { ...samples[4], eventTime: "yesterday" }, //            element 4: bad eventTime
    { ...samples[5], eventId: "x".repeat(129) }, //          element 5: eventId too long
    good[2], //                                              element 6
    null, //                                                 element 7: not an object
    { ...samples[6], eventTime: undefined }, //              element 8: no eventTime (dropped by JSON)
    good[3], //                                              element 9
  ];

  beforeAll(async () => {
    if (!available) return;
    store = await openTestStore(kind);
    summary = await ingest(store.dataSource, [textSource(JSON.stringify(document), "mixed.json")]);
  });
  afterAll(async () => store?.close());

  it.skipIf(!available)("stores every good event", async () => {
    expect(summary.read).toBe(document.length);
    expect(summary.inserted).toBe(good.length);
    expect(summary.duplicates).toBe(0);
    expect(await totalCount(store)).toBe(good.length);
    expect(await storedEventIds(store)).toEqual(good.map((event) => event.eventId as string).sort());
    for (const event of good) {
      expect(await eventById(store, event.eventId as string)).toEqual({
        eventId: event.eventId,
        eventName: event.eventName,
      });
    }
    // The good events keep their links: the seed purchase still has its order.
    const order = dataOf(await store.graphql(`{ order(orderId: "2105464****") { purchaseEvent { eventId } } }`));
    expect(order.order.purchaseEvent.eventId).toBe(samples[0].eventId);
  });

  it.skipIf(!available)("lists each bad record with its source, exact position and reason", () => {
    expect(summary.rejects.map(({ source, position, reason }) => ({ source, position, reason }))).toEqual([
      { source: "mixed.json", position: "element 1", reason: expect.stringMatching(/JSON object.*number/) },
      { source: "mixed.json", position: "element 2", reason: expect.stringMatching(/no eventId/) },
      { source: "mixed.json", position: "element 4", reason: expect.stringMatching(/eventTime "yesterday"/) },
      { source: "mixed.json", position: "element 5", reason: expect.stringMatching(/eventId is 129 characters/) },
      { source: "mixed.json", position: "element 7", reason: expect.stringMatching(/JSON object.*null/) },
      { source: "mixed.json", position: "element 8", reason: expect.stringMatching(/no eventTime/) },
    ]);
  });

  it.skipIf(!available)("stores nothing of a rejected record", async () => {
    expect(await eventById(store, samples[4].eventId as string)).toBeNull();
    expect(await eventById(store, samples[6].eventId as string)).toBeNull();
    const [row] = await store.dataSource.query("SELECT COUNT(*) AS n FROM event_payloads");
    expect(Number(row.n)).toBe(good.length);
  });

  it.skipIf(!available)("the same mixed document again: rejects again, stores nothing new", async () => {
    const again = await ingest(store.dataSource, [textSource(JSON.stringify(document), "mixed.json")]);
    expect(again.inserted).toBe(0);
    expect(again.duplicates).toBe(good.length);
    expect(again.rejects.map((r) => r.position)).toEqual(summary.rejects.map((r) => r.position));
    expect(await totalCount(store)).toBe(good.length);
  });
});

describe.each(storesUnderTest())("a broken line in JSON lines ($kind)", ({ kind, available }) => {
  let store: TestStore;
  beforeAll(async () => {
    if (available) store = await openTestStore(kind);
  });
  afterAll(async () => store?.close());

  it.skipIf(!available)("stores the other lines and rejects the broken one as its line number", async () => {
    const good = [samples[10], samples[11], samples[12], samples[13]];
    // The documentation's own sample: a masked account ID left unquoted is not JSON.
    const broken = JSON.stringify(samples[14]).replace(
      /"recipientAccountId":"151266687691\*\*\*\*"/,
      '"recipientAccountId":151266687691****',
    );
    expect(broken).not.toBe(JSON.stringify(samples[14]));
    const lines = [
      JSON.stringify(good[0]), // line 1
      JSON.stringify(good[1]), // line 2
      "", //                      line 3: blank, skipped
      broken, //                  line 4
      JSON.stringify(good[2]), // line 5
      JSON.stringify({ eventId: "no-time-here" }), // line 6: valid JSON, not storable
      JSON.stringify(good[3]), // line 7
    ];
    const summary = await ingest(store.dataSource, [textSource(lines.join("\n") + "\n", "export.jsonl")]);

    expect(summary.read).toBe(6);
    expect(summary.inserted).toBe(good.length);
    expect(summary.rejects.map(({ source, position, reason }) => ({ source, position, reason }))).toEqual([
      { source: "export.jsonl", position: "line 4", reason: expect.stringMatching(/not valid JSON/) },
      { source: "export.jsonl", position: "line 6", reason: expect.stringMatching(/no eventTime/) },
    ]);
    expect(await totalCount(store)).toBe(good.length);
    expect(await storedEventIds(store)).toEqual(good.map((event) => event.eventId as string).sort());
    expect(await eventById(store, samples[14].eventId as string)).toBeNull();
  });

  it.skipIf(!available)("reads CRLF line endings and a broken first line", async () => {
    const good = [samples[20], samples[21]];
    const text = ['{"eventId": "cut-off", "eventTime": "2021-08-0', ...good.map((e) => JSON.stringify(e))].join("\r\n");
    const summary = await ingest(store.dataSource, [textSource(text, "crlf.jsonl")]);
    expect(summary.inserted).toBe(2);
    expect(summary.rejects.map(({ source, position, reason }) => ({ source, position, reason }))).toEqual([
      { source: "crlf.jsonl", position: "line 1", reason: expect.stringMatching(/not valid JSON/) },
    ]);
    for (const event of good) expect(await eventById(store, event.eventId as string)).not.toBeNull();
  });
});
