// README, "Polling this endpoint well": one test per rule, with the stream off (the fallback's own behaviour).
import { afterEach, beforeEach, expect, test, vi } from "vitest";

import { createJobsClient, type JobsClientOptions, type JobsState } from "../src/index.js";
import { DONE, FakeDocument, FakeServer, json, RUNNING } from "./fake-server.js";

const ACTIVE = "/api/v2/jobs/active";
let server: FakeServer;
let page: FakeDocument;
let states: JobsState[];

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
  vi.spyOn(Math, "random").mockReturnValue(0.5);
  server = new FakeServer();
  page = new FakeDocument();
  states = [];
});

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

/** A polling client with a token, or with the cookie (`cookie`: no getToken). */
function start({ cookie = false, ...options }: JobsClientOptions & { cookie?: boolean } = {}) {
  const credentials: JobsClientOptions = cookie ? {} : { getToken: () => "token-1" };
  const client = createJobsClient({ stream: false, ...credentials, fetch: server.fetch, document: page, ...options });
  const unsubscribe = client.subscribe((state) => states.push(state));
  return { client, unsubscribe };
}

function polls() {
  return server.callsTo(ACTIVE).map(({ at, url, headers }) => ({ at, url, headers }));
}

const FIRST = { Accept: "application/json", Authorization: "Bearer token-1" };

test("polls the list with the Bearer token, never a token in the URL, and shows what it answered", async () => {
  server.on(ACTIVE, () => json([RUNNING, DONE], 200, { ETag: '"a"', "X-Jobs-Running": "1", "X-Jobs-Truncated": "false" }));

  start();
  await vi.advanceTimersByTimeAsync(0);

  expect(polls()).toEqual([{ at: 0, url: ACTIVE, headers: FIRST }]);
  expect(states.at(-1)).toEqual({
    jobs: [RUNNING, DONE], runningCount: 1, truncated: false, mode: "polling", error: null, updatedAt: new Date(0),
  });
});

test("sends the filters as one comma-separated parameter each, on the base URL", async () => {
  server.on(ACTIVE, () => json([]));

  start({ baseUrl: "https://api.databiz.example/", filters: { status: ["running", "failed"], type: ["import"] } });
  await vi.advanceTimersByTimeAsync(0);

  expect(polls().map((call) => call.url)).toEqual([
    "https://api.databiz.example/api/v2/jobs/active?status=running,failed&type=import",
  ]);
});

test("sends the cookie instead of a token when there is no getToken", async () => {
  server.on(ACTIVE, () => json([]));

  start({ cookie: true, credentials: "include" });
  await vi.advanceTimersByTimeAsync(0);

  expect(server.calls.map(({ headers, credentials }) => ({ headers, credentials }))).toEqual([
    { headers: { Accept: "application/json" }, credentials: "include" },
  ]);
});

test("rule 1: makes one request at a time, the next one only after the last one settled", async () => {
  let answer!: (response: Response) => void;
  server.on(ACTIVE, () => new Promise<Response>((resolve) => (answer = resolve)));

  start();
  await vi.advanceTimersByTimeAsync(60_000); // a minute without an answer
  expect(polls().map((call) => call.at)).toEqual([0]);

  answer(json([]));
  await vi.advanceTimersByTimeAsync(9_999);
  expect(polls().map((call) => call.at)).toEqual([0]);
  await vi.advanceTimersByTimeAsync(1);
  expect(polls().map((call) => call.at)).toEqual([0, 70_000]);
});

test("rule 2: makes no request while the page is hidden, and polls at once when it is shown", async () => {
  server.on(ACTIVE, () => json([]));
  start();
  await vi.advanceTimersByTimeAsync(1_000);

  page.setHidden(true);
  await vi.advanceTimersByTimeAsync(120_000);
  expect(polls().map((call) => call.at)).toEqual([0]);

  page.setHidden(false);
  await vi.advanceTimersByTimeAsync(0);
  expect(polls().map((call) => call.at)).toEqual([0, 121_000]);
});

test("rule 2: a page shown again polls at once, without waiting for the poll interval", async () => {
  server.on(ACTIVE, () => json([]));
  start();
  await vi.advanceTimersByTimeAsync(1_000);

  page.setHidden(true);
  await vi.advanceTimersByTimeAsync(2_000);
  page.setHidden(false);
  await vi.advanceTimersByTimeAsync(0);

  expect(polls().map((call) => call.at)).toEqual([0, 3_000]);
});

test("rule 2: a page hidden from the start makes no request until it is shown", async () => {
  server.on(ACTIVE, () => json([]));
  page.hidden = true;

  start();
  await vi.advanceTimersByTimeAsync(30_000);
  expect(polls()).toEqual([]);

  page.setHidden(false);
  await vi.advanceTimersByTimeAsync(0);
  expect(polls().map((call) => call.at)).toEqual([30_000]);
});

test("rule 3: sends If-None-Match with the last ETag and keeps the list on a 304", async () => {
  let call = 0;
  server.on(ACTIVE, () =>
    ++call === 1 ? json([RUNNING], 200, { ETag: '"v1"' }) : new Response(null, { status: 304, headers: { ETag: '"v1"' } }),
  );

  start();
  await vi.advanceTimersByTimeAsync(10_000);

  expect(polls()).toEqual([
    { at: 0, url: ACTIVE, headers: FIRST },
    { at: 10_000, url: ACTIVE, headers: { ...FIRST, "If-None-Match": '"v1"' } },
  ]);
  expect(states.map(({ jobs, updatedAt }) => ({ jobs, updatedAt }))).toEqual([
    { jobs: [RUNNING], updatedAt: new Date(0) },
    { jobs: [RUNNING], updatedAt: new Date(10_000) },
  ]);
});

test("rule 3: replaces the list with each answer, never merges", async () => {
  let call = 0;
  server.on(ACTIVE, () => (++call === 1 ? json([RUNNING, DONE]) : json([DONE])));

  start();
  await vi.advanceTimersByTimeAsync(10_000);

  expect(states.map((state) => state.jobs)).toEqual([[RUNNING, DONE], [DONE]]);
});

test("rule 4: follows X-Poll-Interval, and 10 s without it", async () => {
  let call = 0;
  server.on(ACTIVE, () => (++call === 1 ? json([], 200, { "X-Poll-Interval": "30" }) : json([])));

  start();
  await vi.advanceTimersByTimeAsync(50_000);

  expect(polls().map((c) => c.at)).toEqual([0, 30_000, 40_000, 50_000]);
});

test("rule 5: counts running jobs from X-Jobs-Running, also when the list was cut", async () => {
  server.on(ACTIVE, () => json([RUNNING], 200, { "X-Jobs-Running": "250", "X-Jobs-Truncated": "true" }));

  start();
  await vi.advanceTimersByTimeAsync(0);

  expect(states.at(-1)).toMatchObject({ jobs: [RUNNING], runningCount: 250, truncated: true });
});

test("rule 5: counts the running jobs of the list when the header is missing", async () => {
  server.on(ACTIVE, () => json([RUNNING, DONE]));

  start();
  await vi.advanceTimersByTimeAsync(0);

  expect(states.at(-1)).toMatchObject({ runningCount: 1, truncated: null });
});

test("rule 6: backs off exponentially with jitter on errors, at most 5 minutes, and resets after a success", async () => {
  let failing = true;
  server.on(ACTIVE, () => (failing ? json({ detail: "Service unavailable." }, 503) : json([])));

  start();
  // With Math.random() = 0.5, each wait is three quarters of 10 s × 2^failures: 15, 30, 60, 120, 225, 225 s.
  await vi.advanceTimersByTimeAsync(675_000);
  expect(polls().map((c) => c.at)).toEqual([0, 15_000, 45_000, 105_000, 225_000, 450_000, 675_000]);
  expect(states.at(-1)).toEqual({
    jobs: [], runningCount: 0, truncated: null, mode: "offline", updatedAt: null,
    error: { reason: "http", status: 503, retryAt: 900_000 },
  });

  failing = false;
  await vi.advanceTimersByTimeAsync(225_000 + 10_000);
  expect(polls().map((c) => c.at).slice(-2)).toEqual([900_000, 910_000]);
  expect(states.at(-1)).toMatchObject({ mode: "polling", error: null });
});

test.each([
  [0, 10_000],
  [0.999, 19_990],
])("rule 6: the jitter spreads the first wait over 10 to 20 s (random %s: %s ms)", async (random, wait) => {
  server.on(ACTIVE, () => new Error("network down"));
  vi.spyOn(Math, "random").mockReturnValue(random);

  start();
  await vi.advanceTimersByTimeAsync(wait);

  expect(polls().map((c) => c.at)).toEqual([0, wait]);
  expect(states[0]?.error).toEqual({ reason: "network", status: null, retryAt: wait });
});

test("rule 6: never polls sooner than Retry-After, on a 429 as on a 503", async () => {
  server.on(ACTIVE, () => json({ detail: "Request was throttled." }, 429, { "Retry-After": "120" }));

  start();
  await vi.advanceTimersByTimeAsync(240_000);

  expect(polls().map((c) => c.at)).toEqual([0, 120_000, 240_000]);
});

test("rule 6: reads a Retry-After given as an HTTP date, as proxies send it", async () => {
  let call = 0;
  const inTwoMinutes = new Date(120_000).toUTCString();
  server.on(ACTIVE, () => (++call === 1 ? json({ detail: "x" }, 503, { "Retry-After": inTwoMinutes }) : json([])));

  start();
  await vi.advanceTimersByTimeAsync(120_000);

  expect(polls().map((c) => c.at)).toEqual([0, 120_000]);
});

test("rule 6: a page shown again during a Retry-After wait still waits it out", async () => {
  let call = 0;
  server.on(ACTIVE, () => (++call === 1 ? json({ detail: "x" }, 429, { "Retry-After": "60" }) : json([])));
  start();
  await vi.advanceTimersByTimeAsync(10_000);

  page.setHidden(true);
  page.setHidden(false);
  await vi.advanceTimersByTimeAsync(49_999);
  expect(polls().map((c) => c.at)).toEqual([0]);
  await vi.advanceTimersByTimeAsync(1);
  expect(polls().map((c) => c.at)).toEqual([0, 60_000]);
});

test("rule 7: a 401 calls onUnauthorized once and never retries with the same token", async () => {
  const onUnauthorized = vi.fn();
  server.on(ACTIVE, () => json({ detail: "Token expired." }, 401));

  start({ onUnauthorized });
  await vi.advanceTimersByTimeAsync(300_000);

  expect(polls().map((c) => c.at)).toEqual([0]);
  expect(onUnauthorized).toHaveBeenCalledTimes(1);
  expect(states.at(-1)).toMatchObject({ mode: "offline", error: { reason: "unauthorized", status: 401, retryAt: null } });
});

test("rule 7: a new token from getToken resumes", async () => {
  let token = "expired";
  const onUnauthorized = vi.fn();
  server.on(ACTIVE, (call) =>
    call.headers.Authorization === "Bearer expired" ? json({ detail: "x" }, 401) : json([RUNNING]),
  );

  start({ getToken: () => token, onUnauthorized });
  await vi.advanceTimersByTimeAsync(25_000);
  token = "renewed";
  await vi.advanceTimersByTimeAsync(5_000);

  expect(polls()).toEqual([
    { at: 0, url: ACTIVE, headers: { Accept: "application/json", Authorization: "Bearer expired" } },
    { at: 30_000, url: ACTIVE, headers: { Accept: "application/json", Authorization: "Bearer renewed" } },
  ]);
  expect(onUnauthorized).toHaveBeenCalledTimes(1);
  expect(states.at(-1)).toMatchObject({ jobs: [RUNNING], mode: "polling", error: null });
});

test("rule 7: refresh() after a 401 sends nothing with the refused token, and calls onUnauthorized no more", async () => {
  const onUnauthorized = vi.fn();
  server.on(ACTIVE, () => json({ detail: "x" }, 401));
  const { client } = start({ onUnauthorized });
  await vi.advanceTimersByTimeAsync(0);

  client.refresh();
  client.refresh();
  await vi.advanceTimersByTimeAsync(30_000);

  expect([polls().map((c) => c.at), onUnauthorized.mock.calls.length]).toEqual([[0], 1]);
});

test("a getToken() that fails is an error in the state, and is asked again at the poll interval", async () => {
  let failing = true;
  server.on(ACTIVE, () => json([RUNNING]));
  start({
    getToken: () => {
      if (failing) throw new Error("signed out");
      return "token-2";
    },
  });
  await vi.advanceTimersByTimeAsync(0);
  expect([polls(), states.at(-1)]).toEqual([
    [],
    { jobs: [], runningCount: 0, truncated: null, mode: "offline", updatedAt: null,
      error: { reason: "token", status: null, retryAt: 10_000 } },
  ]);

  failing = false;
  await vi.advanceTimersByTimeAsync(10_000);

  expect(polls()).toEqual([{ at: 10_000, url: ACTIVE, headers: { ...FIRST, Authorization: "Bearer token-2" } }]);
  expect(states.at(-1)).toMatchObject({ jobs: [RUNNING], mode: "polling", error: null });
});

test("a 304 without X-Jobs-Truncated keeps what the last 200 said", async () => {
  let call = 0;
  server.on(ACTIVE, () =>
    ++call === 1 ? json([RUNNING], 200, { ETag: '"v1"', "X-Jobs-Truncated": "true" }) : new Response(null, { status: 304 }),
  );

  start();
  await vi.advanceTimersByTimeAsync(10_000);

  expect(states.map((state) => state.truncated)).toEqual([true, true]);
});

test("rule 7: a cookie's 401 waits for refresh(), after a sign-in", async () => {
  let signedIn = false;
  server.on(ACTIVE, () => (signedIn ? json([]) : json({ detail: "x" }, 401)));
  const { client } = start({ cookie: true });
  await vi.advanceTimersByTimeAsync(60_000);
  expect(polls().map((c) => c.at)).toEqual([0]);

  signedIn = true;
  client.refresh();
  await vi.advanceTimersByTimeAsync(0);

  expect(polls().map((c) => c.at)).toEqual([0, 60_000]);
  expect(states.at(-1)).toMatchObject({ mode: "polling", error: null });
});

test("rule 9: keeps fields it does not know, and fails on nothing", async () => {
  const future = { ...RUNNING, queue: "imports", attempts: 2 };
  server.on(ACTIVE, () => json([future]));

  start();
  await vi.advanceTimersByTimeAsync(0);

  expect(states.at(-1)).toMatchObject({ jobs: [future], mode: "polling", error: null });
});

test("an answer that is not a list of jobs is an error, and the last list stays", async () => {
  let call = 0;
  server.on(ACTIVE, () => (++call === 1 ? json([RUNNING]) : new Response("<html>proxy error</html>", { status: 200 })));

  start();
  await vi.advanceTimersByTimeAsync(10_000);

  expect(states.at(-1)).toMatchObject({
    jobs: [RUNNING], mode: "offline", error: { reason: "http", status: 200, retryAt: 25_000 },
  });
});
