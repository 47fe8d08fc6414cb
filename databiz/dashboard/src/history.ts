// The dashboard's History section: the user's finished jobs from GET /api/v2/jobs/history, newest first, one cursor
// page at a time ("Load more" follows `next`), narrowed by a filename search (`q`) and a status; a new search or
// status starts again from the first page. Rendered with textContent only: filenames and errors are user data.
import type { BackgroundJob, HistoryPage } from "@databiz/jobs-client";

import { ago } from "./time";

export const HISTORY_PATH = "/api/v2/jobs/history";
const PAGE_SIZE = 20;
const SEARCH_DELAY_MS = 300; // typing pauses this long before the search is sent

export interface HistoryOptions {
  apiBase: string;
  onUnauthorized: () => void;
}

/** The messages of a 400's body: DRF's field errors (`{"q": ["..."]}`) or its `detail`. */
async function badRequestText(response: Response): Promise<string | null> {
  const body: unknown = await response.json().catch(() => null);
  if (typeof body !== "object" || body === null) return null;
  const messages = Object.values(body).flat().filter((message): message is string => typeof message === "string");
  return messages.length ? messages.join(" ") : null;
}

export function startHistory({ apiBase, onUnauthorized }: HistoryOptions): void {
  const form = document.getElementById("history-filters") as HTMLFormElement;
  const search = form.elements.namedItem("q") as HTMLInputElement;
  const status = form.elements.namedItem("status") as HTMLSelectElement;
  const list = document.getElementById("history-list")!;
  const statusLine = document.getElementById("history-status")!;
  const empty = document.getElementById("history-empty")!;
  const more = document.getElementById("history-more") as HTMLButtonElement;
  const template = document.getElementById("history-template") as HTMLTemplateElement;
  const shown = new Set<string>(); // the ids listed: a page never adds a job twice
  let next: string | null = null;
  let loading: AbortController | null = null;
  let typing: ReturnType<typeof setTimeout> | undefined;

  function renderJob(job: BackgroundJob): HTMLElement {
    const item = template.content.firstElementChild!.cloneNode(true) as HTMLElement;
    const part = <T extends Element>(selector: string) => item.querySelector(selector) as T;
    item.dataset.jobId = job.id;
    part<HTMLElement>(".history-filename").textContent = job.filename;
    const chip = part<HTMLElement>(".history-chip");
    chip.textContent = job.status;
    chip.classList.add(job.status);
    if (job.finished_at) {
      const finished = part<HTMLTimeElement>("time");
      finished.dateTime = job.finished_at;
      finished.title = new Date(job.finished_at).toLocaleString();
      finished.textContent = ago(job.finished_at);
    }
    if (job.error) {
      const error = part<HTMLElement>(".history-error");
      error.textContent = job.error;
      error.hidden = false;
    }
    return item;
  }

  /** One page, or the text to show instead. */
  async function fetchPage(url: string, signal: AbortSignal): Promise<HistoryPage | string> {
    let response: Response;
    try {
      response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" }, signal });
    } catch {
      return "Could not load the history: the network failed.";
    }
    if (response.status === 401) {
      onUnauthorized();
      return "Signed out: to the login page…";
    }
    if (response.ok) return (await response.json()) as HistoryPage;
    const reason = response.status === 400 ? await badRequestText(response) : null;
    return reason ?? `Could not load the history: the server answered ${response.status}.`;
  }

  async function load(url: string, fromTheStart: boolean): Promise<void> {
    loading?.abort(); // the newest search wins over a page still on its way
    const controller = new AbortController();
    loading = controller;
    more.disabled = true;
    statusLine.textContent = "Loading…";
    const page = await fetchPage(url, controller.signal).catch(() => "Could not load the history.");
    if (controller.signal.aborted) return;
    loading = null;
    if (fromTheStart) {
      list.replaceChildren();
      shown.clear();
      next = null;
    }
    if (typeof page === "string") {
      statusLine.textContent = page; // a failed "Load more" keeps its button, to try again
    } else {
      const added = page.results.filter((job) => !shown.has(job.id));
      for (const job of added) shown.add(job.id);
      list.append(...added.map(renderJob));
      next = page.next;
      statusLine.textContent = "";
    }
    empty.hidden = typeof page === "string" || shown.size > 0;
    more.hidden = next === null;
    more.disabled = false;
  }

  function loadFirstPage(): void {
    clearTimeout(typing);
    const query = new URLSearchParams({ page_size: String(PAGE_SIZE) });
    const text = search.value.trim();
    if (text) query.set("q", text);
    if (status.value) query.set("status", status.value);
    void load(`${apiBase}${HISTORY_PATH}?${query}`, true);
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    loadFirstPage();
  });
  search.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(loadFirstPage, SEARCH_DELAY_MS);
  });
  status.addEventListener("change", loadFirstPage);
  more.addEventListener("click", () => {
    if (next === null) return;
    // The link's path and query on the page's own origin: behind a proxy the server may name itself http://.
    const { pathname, search: query } = new URL(next, window.location.href);
    void load(pathname + query, false);
  });
  loadFirstPage();
}
