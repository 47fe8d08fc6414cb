"use client";
// @databiz/jobs-client/react: useBackgroundJobs, a drop-in for the frontend's hook of that name, and a provider
// through which every component of a page shares one client, so one connection.
import {
  createContext,
  createElement,
  useContext,
  useEffect,
  useMemo,
  useRef,
  useSyncExternalStore,
  type ReactNode,
} from "react";

import { createJobsClient, type JobsClient } from "./client.js";
import type { BackgroundJob, JobsClientOptions, JobsError, JobsState } from "./types.js";

export * from "./index.js";

const ClientContext = createContext<JobsClient | null>(null);

export type JobsClientProviderProps = { children?: ReactNode } & (
  | { client: JobsClient; options?: never }
  | { options: JobsClientOptions; client?: never }
);

/**
 * A client made from `options`, made again when what it connects to changes (baseUrl, filters, credentials, the
 * timings, token or cookie); getToken and onUnauthorized are always the latest given, so a token kept in React state
 * needs no new connection. Null when `options` is null.
 */
function useOwnClient(options: JobsClientOptions | null): JobsClient | null {
  const latest = useRef(options);
  useEffect(() => {
    latest.current = options;
  });
  // What the connection depends on; the callbacks, a fetch and a document are taken as they are.
  const { getToken, onUnauthorized: _onUnauthorized, fetch: _fetch, document: _document, ...connection } = options ?? {};
  const key = options === null ? null : JSON.stringify({ ...connection, token: Boolean(getToken) });
  return useMemo(() => {
    if (options === null) return null;
    return createJobsClient({
      ...options,
      ...(getToken ? { getToken: () => latest.current?.getToken?.() } : {}),
      onUnauthorized: () => latest.current?.onUnauthorized?.(),
    });
  }, [key]); // made again only when the key changes: the rest is read through `latest`
}

/** Share one client (one connection) with every useBackgroundJobs() below: a client made elsewhere, or options. */
export function JobsClientProvider({ client, options, children }: JobsClientProviderProps) {
  const own = useOwnClient(client ? null : (options ?? {}));
  return createElement(ClientContext.Provider, { value: client ?? own }, children);
}

export interface BackgroundJobsResult {
  jobs: readonly BackgroundJob[];
  runningCount: number;
  /** True until the first answer (or the first error). */
  isLoading: boolean;
  error: JobsError | null;
  mode: JobsState["mode"];
  truncated: boolean | null;
  updatedAt: Date | null;
  /** Ask again now (after a sign-in, say). */
  refresh: () => void;
}

/**
 * The signed-in user's jobs, kept up to date: the provider's client, or (without a provider) one of this
 * component's own made from `options`. The connection closes when the last component using it unmounts.
 */
export function useBackgroundJobs(options?: JobsClientOptions): BackgroundJobsResult {
  const shared = useContext(ClientContext);
  const own = useOwnClient(shared ? null : (options ?? {}));
  const client = shared ?? own!;
  const state = useSyncExternalStore(client.subscribe, client.getState, client.getState);
  return {
    jobs: state.jobs,
    runningCount: state.runningCount,
    isLoading: state.updatedAt === null && state.error === null,
    error: state.error,
    mode: state.mode,
    truncated: state.truncated,
    updatedAt: state.updatedAt,
    refresh: client.refresh,
  };
}
