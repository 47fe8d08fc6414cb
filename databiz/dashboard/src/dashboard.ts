// The dashboard's jobs widget, on the frontend's own client (@databiz/jobs-client): the stream when the server
// streams, polling when it does not, every rule of the README's "Polling this endpoint well" from the package.
// It speaks with the session cookie (no getToken); a 401 sends the user to the login page. Rendered with
// textContent only: filenames and error messages are user data. Under the list: the History (history.ts).
import { createJobsClient, type BackgroundJob, type JobsState } from "@databiz/jobs-client";

import { startHistory } from "./history";
import { ago } from "./time";

const widget = document.getElementById("jobs-widget")!;
const { apiBase = "", loginUrl = "", pollInterval, streamRetry } = widget.dataset;
const badge = document.getElementById("running-count")!;
const statusLine = document.getElementById("status-line")!;
const emptyState = document.getElementById("empty-state")!;
const list = document.getElementById("job-list")!;
const template = document.getElementById("job-template") as HTMLTemplateElement;

function renderJob(job: BackgroundJob): HTMLElement {
  const item = template.content.firstElementChild!.cloneNode(true) as HTMLElement;
  const part = <T extends Element>(selector: string) => item.querySelector(selector) as T;
  item.dataset.jobId = job.id;
  part<HTMLElement>(".job-filename").textContent = job.filename;
  const chip = part<HTMLElement>(".chip");
  chip.textContent = job.status;
  chip.classList.add(job.status);
  const bar = part<HTMLProgressElement>("progress");
  bar.value = job.progress;
  bar.setAttribute("aria-label", `${job.filename}: ${job.progress}%`);
  part<HTMLElement>(".job-percent").textContent = `${job.progress}%`;
  const started = part<HTMLTimeElement>(".job-started");
  started.dateTime = job.started_at;
  started.title = new Date(job.started_at).toLocaleString();
  started.textContent = ago(job.started_at);
  if (job.error) {
    const error = part<HTMLElement>(".job-error");
    error.textContent = job.error;
    error.hidden = false;
  }
  return item;
}

function statusText({ mode, error, updatedAt }: JobsState): string {
  if (error?.reason === "unauthorized") return "Signed out: to the login page…";
  if (mode === "offline" && error) {
    const wait = error.retryAt === null ? 0 : Math.ceil((error.retryAt - Date.now()) / 1000);
    const reason = error.status === null ? "the network failed" : `the server answered ${error.status}`;
    return `Retrying in ${wait} s: ${reason}.`;
  }
  const time = updatedAt ? updatedAt.toLocaleTimeString() : "…";
  return mode === "stream" ? `Live, updated ${time}` : `Updated ${time}`;
}

function render(state: JobsState) {
  if (state.updatedAt === null && state.error === null) return; // still loading
  badge.textContent = String(state.runningCount);
  badge.setAttribute("aria-label", `Running jobs: ${state.runningCount}`);
  list.replaceChildren(...state.jobs.map(renderJob));
  emptyState.hidden = state.jobs.length > 0;
  statusLine.textContent = statusText(state);
  statusLine.classList.toggle("retrying", state.mode === "offline");
}

function toLogin() {
  window.location.assign(`${loginUrl}?next=${encodeURIComponent(window.location.pathname)}`);
}

const client = createJobsClient({
  baseUrl: apiBase, // the service's own origin, under its script prefix
  pollIntervalMs: Number(pollInterval) * 1000 || 10_000,
  streamRetryMs: Number(streamRetry) * 1000 || 5_000,
  onUnauthorized: toLogin,
});
client.subscribe(render);
startHistory({ apiBase, onUnauthorized: toLogin });
