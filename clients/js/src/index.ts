// @databiz/jobs-client: the framework-free core. React's hook is in "@databiz/jobs-client/react".
export { createJobsClient, type JobsClient, type Listener } from "./client.js";
export type {
  BackgroundJob,
  HistoryPage,
  JobFilters,
  JobsClientOptions,
  JobsError,
  JobsState,
  JobStatus,
  JobType,
  Mode,
  TokenSource,
  VisibilitySource,
} from "./types.js";
