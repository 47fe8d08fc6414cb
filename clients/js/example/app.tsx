// A minimal React page on the package, as a frontend uses it: the browser tests serve it from another origin than
// the API (databiz/dashboard/tests/test_client_browser.py). The test gives the token through window.jobsTest and
// the settings through the query string: ?api=<the API's origin>&poll=<ms>&retry=<ms>&status=<filter>.
import { useState } from "react";
import { createRoot } from "react-dom/client";

import { JobsClientProvider, useBackgroundJobs, type JobStatus } from "@databiz/jobs-client/react";

interface TestHooks {
  token: string;
  tokenCalls: number;
  unauthorized: number;
}

const hooks: TestHooks = ((window as unknown as { jobsTest: TestHooks }).jobsTest ??= {
  token: "",
  tokenCalls: 0,
  unauthorized: 0,
});
const params = new URLSearchParams(window.location.search);
const status = params.get("status");

function Jobs() {
  const { jobs, runningCount, isLoading, error, mode } = useBackgroundJobs();
  if (isLoading) return <p id="loading">Loading…</p>;
  return (
    <section>
      <p>
        <span id="mode">{mode}</span>, <span id="running">{runningCount}</span> running
      </p>
      {error && <p id="error">{`${error.reason} ${error.status ?? ""}`.trim()}</p>}
      <ul>
        {jobs.map((job) => (
          <li key={job.id} className="job">
            <span className="filename">{job.filename}</span> <span className="status">{job.status}</span>{" "}
            <span className="progress">{job.progress}%</span>
          </li>
        ))}
      </ul>
    </section>
  );
}

function App() {
  const [mounted, setMounted] = useState(true);
  return (
    <main>
      <button id="unmount" onClick={() => setMounted(false)}>
        Unmount
      </button>
      {mounted && (
        <JobsClientProvider
          options={{
            baseUrl: params.get("api") ?? "",
            getToken() {
              hooks.tokenCalls += 1;
              return hooks.token;
            },
            onUnauthorized() {
              hooks.unauthorized += 1;
            },
            pollIntervalMs: Number(params.get("poll") ?? 10_000),
            streamRetryMs: Number(params.get("retry") ?? 5_000),
            ...(status ? { filters: { status: status.split(",") as JobStatus[] } } : {}),
          }}
        >
          <Jobs />
        </JobsClientProvider>
      )}
    </main>
  );
}

createRoot(document.getElementById("root")!).render(<App />);
