// The stream first: over fetch with the Bearer token, Last-Event-ID, the watchdog, reauthenticate, the retry hint,
// and polling meanwhile when the stream is refused.
import { afterEach, beforeEach, expect, test, vi } from "vitest";

import { createJobsClient, type JobsClientOptions, type JobsState } from "../src/index.js";
import { DONE, FakeDocument, FakeServer, json, RUNNING } from "./fake-server.js";

const ACTIVE = "/api/v2/jobs/active";
const STREAM = "/api/v2/jobs/stream";
const EVENTS = { Accept: "text/event-stream", Authorization: "Bearer token-1" };
let server: FakeServer;
let page: FakeDocument;
let states: JobsState[];

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
  vi.spyOn(Math, "random").mockReturnValue(0.5);
  server = new FakeServer();
  server.on(ACTIVE, () => json([DONE], 200, { ETag: '"polled"', "X-Jobs-Running": "0" }));
  page = new FakeDocument();
  states = [];
});

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

function start(options: JobsClientOptions = {}) {
  const client = createJobsClient({ getToken: () => "token-1", fetch: server.fetch, document: page, ...options });
  const unsubscribe = client.subscribe((state) => states.push(state));
  return { client, unsubscribe };
}

function requests() {
  return server.calls.map(({ at, url, headers }) => ({ at, url, headers }));
}

function at(path: string) {
  return server.callsTo(path).map((call) => call.at);
}

test("opens the stream first, with the Bearer token in a header, and shows each event's list", async () => {
  server.streaming();
  start();
  await vi.advanceTimersByTimeAsync(0);

  server.streams[0]!.send("retry: 5000\n\n");
  server.streams[0]!.jobs([RUNNING, DONE], '"e1"');
  await vi.advanceTimersByTimeAsync(0);

  expect(requests()).toEqual([{ at: 0, url: STREAM, headers: EVENTS }]);
  expect(states).toEqual([
    { jobs: [], runningCount: 0, truncated: null, mode: "stream", error: null, updatedAt: null },
    { jobs: [RUNNING, DONE], runningCount: 1, truncated: null, mode: "stream", error: null, updatedAt: new Date(0) },
  ]);
});

test("an event split across chunks is put together, and an event of another kind is ignored", async () => {
  server.streaming();
  start();
  await vi.advanceTimersByTimeAsync(0);

  const event = `event: jobs\nid: "e1"\ndata: ${JSON.stringify([RUNNING])}\n\n`;
  server.streams[0]!.send("event: progress\ndata: {}\n\n" + event.slice(0, 30));
  server.streams[0]!.send(event.slice(30));
  await vi.advanceTimersByTimeAsync(0);

  expect(states.map((state) => state.jobs)).toEqual([[], [RUNNING]]);
});

test("follows the list's filters on the stream too", async () => {
  server.streaming();
  start({ filters: { status: ["failed"] } });
  await vi.advanceTimersByTimeAsync(0);

  expect(server.calls.map((call) => call.url)).toEqual(["/api/v2/jobs/stream?status=failed"]);
});

test("makes no poll while the stream is open", async () => {
  server.streaming();
  start();
  await vi.advanceTimersByTimeAsync(0);
  for (let second = 0; second < 120; second += 15) {
    server.streams[0]!.send(": heartbeat\n\n");
    await vi.advanceTimersByTimeAsync(15_000);
  }

  expect(requests()).toEqual([{ at: 0, url: STREAM, headers: EVENTS }]);
});

test("reconnects after the server's retry hint, with Last-Event-ID, when the server ends the stream", async () => {
  server.streaming();
  start();
  await vi.advanceTimersByTimeAsync(0);
  server.streams[0]!.send("retry: 2000\n\n");
  server.streams[0]!.jobs([RUNNING], '"e1"');
  server.streams[0]!.close();

  await vi.advanceTimersByTimeAsync(1_999);
  expect(at(STREAM)).toEqual([0]);
  await vi.advanceTimersByTimeAsync(1);

  expect(requests()).toEqual([
    { at: 0, url: STREAM, headers: EVENTS },
    { at: 2_000, url: STREAM, headers: { ...EVENTS, "Last-Event-ID": '"e1"' } },
  ]);
  expect(states.at(-1)).toMatchObject({ jobs: [RUNNING], mode: "stream" });
});

test("a dropped connection is offline until the stream is back, after the retry hint", async () => {
  server.streaming();
  start({ streamRetryMs: 3_000 });
  await vi.advanceTimersByTimeAsync(0);
  server.streams[0]!.jobs([RUNNING], '"e1"');
  server.streams[0]!.fail();
  await vi.advanceTimersByTimeAsync(2_999);
  expect(states.at(-1)).toMatchObject({
    jobs: [RUNNING], mode: "offline", error: { reason: "network", status: null, retryAt: 3_000 },
  });

  await vi.advanceTimersByTimeAsync(1);

  expect(at(STREAM)).toEqual([0, 3_000]);
  expect(at(ACTIVE)).toEqual([]);
  expect(states.at(-1)).toMatchObject({ jobs: [RUNNING], mode: "stream", error: null });
});

test.each([
  ["not JSON", "event: jobs\nid: \"bad\"\ndata: {oops\n\n"],
  ["not a list", 'event: jobs\nid: "bad"\ndata: {"detail": "x"}\n\n'],
])("an event whose data is %s is not taken: the list and its id stay, and the page polls", async (_name, event) => {
  server.streaming();
  start();
  await vi.advanceTimersByTimeAsync(0);
  server.streams[0]!.jobs([RUNNING], '"e1"');
  server.streams[0]!.send(event);
  await vi.advanceTimersByTimeAsync(5_000);

  expect(states.filter((state) => state.updatedAt !== null).map((state) => state.jobs)[0]).toEqual([RUNNING]);
  expect(requests()).toEqual([
    { at: 0, url: STREAM, headers: EVENTS },
    { at: 0, url: ACTIVE, headers: { Accept: "application/json", Authorization: "Bearer token-1", "If-None-Match": '"e1"' } },
    { at: 5_000, url: STREAM, headers: { ...EVENTS, "Last-Event-ID": '"polled"' } },
  ]);
});

test("a stream that keeps sending what is not a list is tried later and later, not reconnected at once", async () => {
  server.on(STREAM, (call) => {
    const response = server.openStream(call);
    server.streams.at(-1)!.send("event: jobs\ndata: null\n\n");
    return response;
  });

  start();
  await vi.advanceTimersByTimeAsync(35_000);

  expect(at(STREAM)).toEqual([0, 5_000, 15_000, 35_000]);
});

test("the stream's next try waits for a poll's Retry-After", async () => {
  server.on(STREAM, () => json({ detail: "x" }, 503, { "Retry-After": "5" }));
  server.on(ACTIVE, () => json({ detail: "Request was throttled." }, 429, { "Retry-After": "120" }));

  start();
  await vi.advanceTimersByTimeAsync(240_000);

  expect([at(STREAM), at(ACTIVE)]).toEqual([
    [0, 120_000, 240_000],
    [0, 120_000, 240_000],
  ]);
});

test("the watchdog drops a stream silent for twice the heartbeat, and reconnects", async () => {
  server.streaming();
  start({ heartbeatMs: 15_000 });
  await vi.advanceTimersByTimeAsync(0);
  server.streams[0]!.send("retry: 1000\n\n: heartbeat\n\n");
  await vi.advanceTimersByTimeAsync(29_999);
  expect(server.calls[0]!.signal.aborted).toBe(false);

  await vi.advanceTimersByTimeAsync(1);
  expect(server.calls[0]!.signal.aborted).toBe(true);
  await vi.advanceTimersByTimeAsync(1_000);

  expect(at(STREAM)).toEqual([0, 31_000]);
});

test("heartbeats keep the watchdog quiet", async () => {
  server.streaming();
  start({ heartbeatMs: 15_000 });
  await vi.advanceTimersByTimeAsync(0);
  for (let beat = 0; beat < 8; beat += 1) {
    await vi.advanceTimersByTimeAsync(15_000);
    server.streams[0]!.send(": heartbeat\n\n");
  }
  await vi.advanceTimersByTimeAsync(29_000);

  expect(at(STREAM)).toEqual([0]);
});

test("event: reauthenticate asks getToken for a fresh token and reconnects at once with it", async () => {
  server.streaming();
  const getToken = vi.fn().mockReturnValueOnce("token-1").mockReturnValue("token-2");
  start({ getToken });
  await vi.advanceTimersByTimeAsync(0);
  server.streams[0]!.jobs([RUNNING], '"e1"');
  server.streams[0]!.send('event: reauthenticate\ndata: {"detail": "The token has expired."}\n\n');
  await vi.advanceTimersByTimeAsync(0);

  expect(requests()).toEqual([
    { at: 0, url: STREAM, headers: EVENTS },
    { at: 0, url: STREAM, headers: { ...EVENTS, Authorization: "Bearer token-2", "Last-Event-ID": '"e1"' } },
  ]);
  expect(getToken).toHaveBeenCalledTimes(2);
  expect(server.calls[0]!.signal.aborted).toBe(true);
});

test("a 401 on the stream calls onUnauthorized once and opens nothing with the same token", async () => {
  const onUnauthorized = vi.fn();
  server.on(STREAM, () => json({ detail: "Token expired." }, 401));

  start({ onUnauthorized });
  await vi.advanceTimersByTimeAsync(600_000);

  expect(requests()).toEqual([{ at: 0, url: STREAM, headers: EVENTS }]);
  expect(onUnauthorized).toHaveBeenCalledTimes(1);
  expect(states.at(-1)).toMatchObject({ mode: "offline", error: { reason: "unauthorized", status: 401 } });
});

test.each([
  ["a deploy's 503 with Retry-After", () => json({ detail: "Stopping." }, 503, { "Retry-After": "3" }), 3_000],
  ["a 429 with Retry-After", () => json({ detail: "Too many streams." }, 429, { "Retry-After": "3" }), 3_000],
  ["a network error, after the default retry", () => new TypeError("Failed to fetch"), 5_000],
  ["a server without the stream (404)", () => json({ detail: "Not found." }, 404), 5_000],
  ["an answer that is not an event stream", () => json([]), 5_000],
])("%s: polls meanwhile and tries the stream again later and later", async (_name, refusal, first) => {
  server.on(STREAM, refusal);

  start();
  await vi.advanceTimersByTimeAsync(7 * first);

  // Tried at 0, after `first`, then twice as long each time: 0, 1, 3, 7 × first; polled at once after each refusal.
  expect(at(STREAM)).toEqual([0, first, 3 * first, 7 * first]);
  expect(at(ACTIVE).slice(0, 2)).toEqual([0, first]);
  expect(states.at(-1)).toMatchObject({ jobs: [DONE], mode: "polling" });
});

test("a refused stream is tried again at most every 10 minutes", async () => {
  server.on(STREAM, () => json({ detail: "x" }, 503, { "Retry-After": "60" }));

  start();
  await vi.advanceTimersByTimeAsync(60 * 60_000);

  const waits = at(STREAM).slice(1).map((time, index) => time - at(STREAM)[index]!);
  expect(waits).toEqual([60_000, 120_000, 240_000, 480_000, 600_000, 600_000, 600_000, 600_000]);
});

test("once the stream opens again, polling stops", async () => {
  let tries = 0;
  server.on(STREAM, (call) =>
    ++tries === 1 ? json({ detail: "x" }, 503, { "Retry-After": "20" }) : server.openStream(call),
  );

  start();
  await vi.advanceTimersByTimeAsync(20_000);
  server.streams[0]!.jobs([RUNNING], '"e1"');
  await vi.advanceTimersByTimeAsync(25_000); // within the watchdog's 30 s

  expect(at(ACTIVE)).toEqual([0, 10_000]);
  expect(at(STREAM)).toEqual([0, 20_000]);
  expect(states.at(-1)).toMatchObject({ jobs: [RUNNING], mode: "stream", error: null });
});

test("a hidden page closes its stream and opens it again when shown, with Last-Event-ID", async () => {
  server.streaming();
  start();
  await vi.advanceTimersByTimeAsync(0);
  server.streams[0]!.jobs([RUNNING], '"e1"');
  await vi.advanceTimersByTimeAsync(1_000);

  page.setHidden(true);
  await vi.advanceTimersByTimeAsync(0);
  expect(server.calls[0]!.signal.aborted).toBe(true);
  await vi.advanceTimersByTimeAsync(300_000);
  page.setHidden(false);
  await vi.advanceTimersByTimeAsync(0);

  expect(requests()).toEqual([
    { at: 0, url: STREAM, headers: EVENTS },
    { at: 301_000, url: STREAM, headers: { ...EVENTS, "Last-Event-ID": '"e1"' } },
  ]);
});

test("polls only when told not to stream", async () => {
  server.streaming();
  start({ stream: false });
  await vi.advanceTimersByTimeAsync(20_000);

  expect(at(STREAM)).toEqual([]);
  expect(at(ACTIVE)).toEqual([0, 10_000, 20_000]);
});
