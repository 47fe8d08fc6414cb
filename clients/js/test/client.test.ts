// One connection per client, however many subscribers; the last unsubscribe closes it.
import { afterEach, beforeEach, expect, test, vi } from "vitest";

import { createJobsClient } from "../src/index.js";
import { FakeDocument, FakeServer, RUNNING } from "./fake-server.js";

let server: FakeServer;
let page: FakeDocument;

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
  server = new FakeServer();
  server.streaming();
  page = new FakeDocument();
});

afterEach(() => {
  vi.useRealTimers();
});

function client() {
  return createJobsClient({ getToken: () => "token-1", fetch: server.fetch, document: page });
}

test("opens nothing until the first subscriber", async () => {
  client();
  await vi.advanceTimersByTimeAsync(60_000);

  expect(server.calls).toEqual([]);
});

test("shares one connection among its subscribers, and tells each of them every state", async () => {
  const jobs = client();
  const first = vi.fn();
  const second = vi.fn();
  jobs.subscribe(first);
  jobs.subscribe(second);
  await vi.advanceTimersByTimeAsync(0);
  server.streams[0]!.jobs([RUNNING], '"e1"');
  await vi.advanceTimersByTimeAsync(0);

  expect(server.calls.length).toBe(1);
  expect(first.mock.calls).toEqual(second.mock.calls);
  expect(jobs.getState()).toMatchObject({ jobs: [RUNNING], mode: "stream" });
  expect(first).toHaveBeenLastCalledWith(jobs.getState());
});

test("getState() is the state the listeners were last told, the same object until something changes", async () => {
  const jobs = client();
  const told: unknown[] = [];
  jobs.subscribe((state) => told.push(state));
  await vi.advanceTimersByTimeAsync(0);
  server.streams[0]!.jobs([RUNNING], '"e1"');
  await vi.advanceTimersByTimeAsync(0);
  const last = jobs.getState();

  server.streams[0]!.send(": heartbeat\n\n");
  await vi.advanceTimersByTimeAsync(15_000);

  expect([jobs.getState() === last, told.at(-1) === last, told.length]).toEqual([true, true, 2]);
});

test("a subscriber that throws is reported, and neither stops the client nor the other subscribers", async () => {
  const reported = vi.spyOn(console, "error").mockImplementation(() => {});
  vi.stubGlobal("reportError", undefined);
  const jobs = client();
  const other = vi.fn();
  jobs.subscribe(() => {
    throw new Error("a bug in a component");
  });
  jobs.subscribe(other);
  await vi.advanceTimersByTimeAsync(0);
  server.streams[0]!.jobs([RUNNING], '"e1"');
  await vi.advanceTimersByTimeAsync(0);

  expect(other.mock.calls.map(([state]) => state.jobs)).toEqual([[], [RUNNING]]);
  expect(reported.mock.calls.map(([error]) => (error as Error).message)).toEqual([
    "a bug in a component",
    "a bug in a component",
  ]);
  expect([server.calls.length, server.calls[0]!.signal.aborted]).toEqual([1, false]);
  vi.unstubAllGlobals();
});

test("the last unsubscribe aborts the connection and stops listening to the page", async () => {
  const jobs = client();
  const stopFirst = jobs.subscribe(() => {});
  const stopSecond = jobs.subscribe(() => {});
  await vi.advanceTimersByTimeAsync(0);

  stopFirst();
  await vi.advanceTimersByTimeAsync(0);
  expect([server.calls[0]!.signal.aborted, page.listenerCount]).toEqual([false, 1]);

  stopSecond();
  await vi.advanceTimersByTimeAsync(0);
  expect([server.calls[0]!.signal.aborted, page.listenerCount, vi.getTimerCount()]).toEqual([true, 0, 0]);
  await vi.advanceTimersByTimeAsync(600_000);
  expect(server.calls.length).toBe(1);
});

test("an unsubscribe followed at once by a subscribe (React's StrictMode) keeps the connection", async () => {
  const jobs = client();
  const stop = jobs.subscribe(() => {});
  await vi.advanceTimersByTimeAsync(0);

  stop();
  jobs.subscribe(() => {});
  await vi.advanceTimersByTimeAsync(0);

  expect(server.calls.map((call) => call.signal.aborted)).toEqual([false]);
});

test("subscribing again after the last unsubscribe opens a new connection", async () => {
  const jobs = client();
  const stop = jobs.subscribe(() => {});
  await vi.advanceTimersByTimeAsync(0);
  stop();
  await vi.advanceTimersByTimeAsync(0);

  jobs.subscribe(() => {});
  await vi.advanceTimersByTimeAsync(0);

  expect(server.calls.map((call) => call.signal.aborted)).toEqual([true, false]);
});
