// @vitest-environment happy-dom
// The hook: a drop-in for the frontend's useBackgroundJobs; a provider shares one client; unmounting cleans up.
import { act, createElement, StrictMode, type ReactNode } from "react";
import { createRoot, type Root } from "react-dom/client";
import { afterEach, beforeEach, expect, test, vi } from "vitest";

import { createJobsClient, JobsClientProvider, useBackgroundJobs, type BackgroundJobsResult } from "../src/react.js";
import { FakeServer, json, RUNNING } from "./fake-server.js";

let server: FakeServer;
let container: HTMLElement;
let root: Root;

beforeEach(() => {
  (globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;
  server = new FakeServer();
  server.streaming();
  container = document.createElement("div");
  root = createRoot(container);
});

afterEach(() => {
  act(() => root.unmount());
});

const options = () => ({ getToken: () => "token-1", fetch: server.fetch, document: null });

function Probe({ seen }: { seen: BackgroundJobsResult[] }) {
  seen.push(useBackgroundJobs(options()));
  return null;
}

async function render(node: ReactNode) {
  await act(async () => root.render(node));
}

test("useBackgroundJobs is loading until the first event, then returns the jobs", async () => {
  const seen: BackgroundJobsResult[] = [];
  await render(createElement(Probe, { seen }));
  expect(seen[0]).toMatchObject({ jobs: [], runningCount: 0, isLoading: true, error: null, mode: "offline" });
  expect(seen.at(-1)).toMatchObject({ jobs: [], isLoading: true, mode: "stream" }); // open, no event yet

  await act(async () => server.streams[0]!.jobs([RUNNING], '"e1"'));

  expect(seen.at(-1)).toMatchObject({ jobs: [RUNNING], runningCount: 1, isLoading: false, error: null, mode: "stream" });
});

test("an error ends the loading state", async () => {
  server.on("/api/v2/jobs/stream", () => json({ detail: "x" }, 401));
  const seen: BackgroundJobsResult[] = [];

  await render(createElement(Probe, { seen }));
  await act(async () => {});

  expect(seen.at(-1)).toMatchObject({ isLoading: false, mode: "offline", error: { reason: "unauthorized" } });
});

test("components under one provider share one connection", async () => {
  const client = createJobsClient(options());
  const seen: BackgroundJobsResult[] = [];
  function Badge() {
    seen.push(useBackgroundJobs());
    return null;
  }

  await render(createElement(JobsClientProvider, { client }, createElement(Badge), createElement(Badge)));
  await act(async () => server.streams[0]!.jobs([RUNNING], '"e1"'));

  expect(server.calls.length).toBe(1);
  expect(seen.slice(-2).map((result) => result.runningCount)).toEqual([1, 1]);
});

test("a provider made from options makes its client once", async () => {
  const seen: BackgroundJobsResult[] = [];
  function Badge() {
    seen.push(useBackgroundJobs());
    return null;
  }
  const tree = () => createElement(JobsClientProvider, { options: options() }, createElement(Badge));

  await render(tree());
  await render(tree());

  expect(server.calls.length).toBe(1);
});

test("unmounting closes the connection, in StrictMode too", async () => {
  await render(createElement(StrictMode, null, createElement(Probe, { seen: [] })));
  expect(server.calls.map((call) => call.signal.aborted)).toEqual([false]);

  await act(async () => root.unmount());
  await act(async () => {});

  expect(server.calls.map((call) => call.signal.aborted)).toEqual([true]);
  root = createRoot(container);
});

test("a new getToken is used without a new connection; new filters make a new one", async () => {
  function Status({ token, status }: { token: string; status: "running" | "failed" }) {
    useBackgroundJobs({ getToken: () => token, fetch: server.fetch, document: null, filters: { status: [status] } });
    return null;
  }
  await render(createElement(Status, { token: "token-1", status: "running" }));
  await render(createElement(Status, { token: "token-2", status: "running" }));
  await act(async () => server.streams[0]!.send('event: reauthenticate\ndata: {}\n\n'));

  await render(createElement(Status, { token: "token-2", status: "failed" }));

  expect(server.calls.map((call) => [call.url, call.headers.Authorization, call.signal.aborted])).toEqual([
    ["/api/v2/jobs/stream?status=running", "Bearer token-1", true],
    ["/api/v2/jobs/stream?status=running", "Bearer token-2", true],
    ["/api/v2/jobs/stream?status=failed", "Bearer token-2", false],
  ]);
});
