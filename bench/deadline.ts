/**
 * `npx tsx bench/deadline.ts`: what each GraphQL request pays for its guard (src/server/deadline.ts):
 * the guard with the default limits, its close listener on the request's response, three
 * statements' checks and row counts, and the end of its deadline; against the same loop without
 * it, in the same run. Responses are made beforehand, outside the timed loop. The figure is the
 * median turn's nanoseconds per request.
 */
import { IncomingMessage, ServerResponse } from "node:http";
import { Socket } from "node:net";
import { DEFAULT_DEADLINES, RequestGuard } from "../src/server/deadline";

const REQUESTS = 50_000;
const TURNS = 7;

function turn(guarded: boolean): number {
  const responses = Array.from({ length: REQUESTS }, () => new ServerResponse(new IncomingMessage(new Socket())));
  const started = process.hrtime.bigint();
  let stopped = 0;
  for (let n = 0; n < REQUESTS; n++) {
    if (!guarded) continue;
    const guard = new RequestGuard(DEFAULT_DEADLINES, responses[n]!);
    for (let statement = 0; statement < 3; statement++) {
      if (guard.stopped()) stopped++;
      guard.countRows(10);
    }
    guard.done();
  }
  const ns = Number(process.hrtime.bigint() - started) / REQUESTS;
  if (stopped !== 0) throw new Error("a guard stopped a request within its limits");
  return ns;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;
const without: number[] = [];
const guarded: number[] = [];
turn(true);
for (let t = 0; t < TURNS; t++) {
  without.push(turn(false));
  guarded.push(turn(true));
}
console.log(`without the guard: ${median(without).toFixed(0)} ns per request (median of ${TURNS} turns)`);
console.log(`with the guard:    ${median(guarded).toFixed(0)} ns per request (3 statements)`);
