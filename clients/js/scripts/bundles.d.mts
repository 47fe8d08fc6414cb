import type { BuildOptions } from "esbuild";

export const DASHBOARD_BUNDLE: string;
export const dashboard: BuildOptions;
export const example: BuildOptions;
export const core: BuildOptions;
