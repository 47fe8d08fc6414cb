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

test("keeps the same state object until something changes", async () => {
  const jobs = client();
  const before = jobs.getState();

  expect(jobs.getState()).toBe(before);
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
  await vi.advanceTimersByTimeAsync(600_000);
  expect([server.calls[0]!.signal.aborted, page.listenerCount, server.calls.length]).toEqual([true, 0, 1]);
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
