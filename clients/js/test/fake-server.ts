// A fake fetch that records every request the client makes and answers as the test says, streams included.
import type { BackgroundJob, VisibilitySource } from "../src/index.js";

export interface Call {
  /** The moment of the request, in ms since the test began (fake timers start at 0). */
  at: number;
  url: string;
  headers: Record<string, string>;
  credentials: RequestCredentials | undefined;
  signal: AbortSignal;
}

type Answer = Response | Error | Promise<Response | Error>;

/** An open Server-Sent Events response the test writes to. */
export class OpenStream {
  private controller!: ReadableStreamDefaultController<Uint8Array>;
  readonly response: Response;

  constructor(signal: AbortSignal) {
    const body = new ReadableStream<Uint8Array>({ start: (controller) => void (this.controller = controller) });
    signal.addEventListener("abort", () => this.controller.error(new DOMException("aborted", "AbortError")));
    this.response = new Response(body, { headers: { "Content-Type": "text/event-stream" } });
  }

  send(text: string) {
    this.controller.enqueue(new TextEncoder().encode(text));
  }

  jobs(jobs: BackgroundJob[], id: string) {
    this.send(`event: jobs\nid: ${id}\ndata: ${JSON.stringify(jobs)}\n\n`);
  }

  /** The server ends the stream (a deploy, the end of a session's stream). */
  close() {
    this.controller.close();
  }

  /** The connection breaks. */
  fail() {
    this.controller.error(new TypeError("network error"));
  }
}

export class FakeServer {
  readonly calls: Call[] = [];
  readonly streams: OpenStream[] = [];
  private answers: Record<string, (call: Call) => Answer> = {};

  /** How to answer requests to `path` from now on. */
  on(path: string, answer: (call: Call) => Answer) {
    this.answers[path] = answer;
  }

  /** Answer the stream's path with an open stream (the test writes to `this.streams`). */
  streaming() {
    this.on("/api/v2/jobs/stream", (call) => this.openStream(call));
  }

  /** An open stream answering `call`, which the test writes to as `this.streams.at(-1)`. */
  openStream(call: Call) {
    const stream = new OpenStream(call.signal);
    this.streams.push(stream);
    return stream.response;
  }

  /** Requests to `path`, without the query. */
  callsTo(path: string) {
    return this.calls.filter((call) => new URL(call.url, "http://test").pathname === path);
  }

  fetch: typeof fetch = async (input, init = {}) => {
    const call: Call = {
      at: Date.now(),
      url: String(input),
      headers: { ...(init.headers as Record<string, string>) },
      credentials: init.credentials,
      signal: init.signal!,
    };
    this.calls.push(call);
    const answer = this.answers[new URL(call.url, "http://test").pathname];
    if (!answer) return new Response(JSON.stringify({ detail: "Not found." }), { status: 404 });
    const result = await answer(call);
    if (result instanceof Error) throw result;
    return result;
  };
}

export function json(body: unknown, status = 200, headers: Record<string, string> = {}) {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });
}

/** A page whose visibility the test switches. */
export class FakeDocument implements VisibilitySource {
  hidden = false;
  private listeners = new Set<() => void>();

  addEventListener(_type: "visibilitychange", listener: () => void) {
    this.listeners.add(listener);
  }

  removeEventListener(_type: "visibilitychange", listener: () => void) {
    this.listeners.delete(listener);
  }

  get listenerCount() {
    return this.listeners.size;
  }

  setHidden(hidden: boolean) {
    this.hidden = hidden;
    for (const listener of this.listeners) listener();
  }
}

export function job(overrides: Partial<BackgroundJob> = {}): BackgroundJob {
  return {
    id: "550e8400-e29b-41d4-a716-446655440000",
    type: "import",
    status: "running",
    progress: 50,
    remaining_seconds: 30,
    filename: "sales-2025.csv",
    started_at: "2025-12-19T10:00:00Z",
    finished_at: null,
    error: null,
    ...overrides,
  };
}

export const RUNNING = job();
export const DONE = job({
  id: "660e8400-e29b-41d4-a716-446655440001",
  status: "completed",
  progress: 100,
  remaining_seconds: null,
  filename: "customers.xlsx",
  finished_at: "2025-12-19T10:05:00Z",
});
