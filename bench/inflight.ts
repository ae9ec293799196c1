/**
 * `npx tsx bench/inflight.ts [requests]`: what a worker of `serve --workers N` pays per request
 * to tell its primary about it (src/server/inflight.ts: one message as the operation starts, one
 * as its answer is ready), against the same loop without the messages, in the same run. A real
 * cluster: the primary follows the worker's messages with InflightRequests, as `serve` does.
 * Turns alternate (without, with, ...) so that both see the same machine; the figure is the
 * median turn's nanoseconds per request.
 */
import cluster from "node:cluster";
import { randomUUID } from "node:crypto";
import { InflightRequests, type InflightStart } from "../src/server/inflight";

const REQUESTS = Number(process.argv[2] ?? 200_000);
const TURNS = 10;

if (cluster.isPrimary) {
  const inflight = new InflightRequests();
  const worker = cluster.fork();
  inflight.watch(worker);
  worker.on("message", (message: unknown) => {
    if (typeof message === "object" && message !== null && "report" in message) {
      const { without, withMessages } = (message as { report: { without: number[]; withMessages: number[] } }).report;
      const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;
      const a = median(without);
      const b = median(withMessages);
      console.log(`requests per turn: ${REQUESTS}, turns: ${TURNS} each`);
      console.log(`without messages: ${a.toFixed(0)} ns per request (median turn)`);
      console.log(`with messages:    ${b.toFixed(0)} ns per request (median turn)`);
      console.log(`cost:             ${(b - a).toFixed(0)} ns per request`);
      // Every request ended: the primary holds none in flight.
      console.log(`in flight at the end, as the primary sees it: ${inflight.ended(worker).length}`);
      worker.kill();
    }
  });
} else {
  const send = process.send!.bind(process);
  const ids = Array.from({ length: 1024 }, () => randomUUID());
  // The work both loops do: what the plugin builds for its message.
  const turn = (messages: boolean) => {
    const started = process.hrtime.bigint();
    for (let n = 0; n < REQUESTS; n++) {
      const id = ids[n & 1023]!;
      const start: InflightStart = [id, "EventPage", "user@example.com", 53];
      if (messages) {
        send(start);
        send(id);
      } else if (start.length !== 4) throw new Error("unreachable");
    }
    return Number(process.hrtime.bigint() - started) / REQUESTS;
  };
  // Lets the channel drain between turns, so that one turn's backlog is not the next one's.
  const drained = () => new Promise((resolve) => send("", resolve));
  void (async () => {
    const without: number[] = [];
    const withMessages: number[] = [];
    turn(false);
    turn(true);
    await drained();
    for (let t = 0; t < TURNS; t++) {
      without.push(turn(false));
      withMessages.push(turn(true));
      await drained();
    }
    send({ report: { without, withMessages } });
  })();
}
