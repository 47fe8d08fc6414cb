// What is generated and committed must be what its sources make now: the types from openapi.json (which
// jobs/tests/test_openapi.py holds against the service's schema) and the dashboard's bundle from its sources.
import { readFile } from "node:fs/promises";
import { build } from "esbuild";
import { expect, expectTypeOf, test } from "vitest";

import type { BackgroundJob } from "../src/index.js";
import { dashboard, DASHBOARD_BUNDLE } from "../scripts/bundles.mjs";
import { schemaTypes } from "../scripts/schema-types.mjs";

test("src/schema.ts is what openapi-typescript makes of openapi.json (else: make client-types)", async () => {
  const committed = await readFile(new URL("../src/schema.ts", import.meta.url), "utf8");

  expect(committed).toBe(await schemaTypes());
});

test("the dashboard's committed script is what its sources build (else: npm run build)", async () => {
  const { outputFiles } = await build({ ...dashboard, write: false });
  const committed = await readFile(DASHBOARD_BUNDLE, "utf8");

  expect(committed).toBe(outputFiles![0]!.text);
});

test("BackgroundJob has the frontend's fields and unions, and the service's additions", async () => {
  const schema = JSON.parse(await readFile(new URL("../openapi.json", import.meta.url), "utf8"));
  const { BackgroundJob, JobStatusEnum, JobTypeEnum } = schema.components.schemas;

  expect({
    fields: Object.keys(BackgroundJob.properties),
    status: JobStatusEnum.enum,
    type: JobTypeEnum.enum,
  }).toEqual({
    fields: ["id", "type", "status", "progress", "remaining_seconds", "filename", "started_at", "finished_at", "error"],
    status: ["running", "completed", "failed"],
    type: ["import", "export", "validation", "processing"],
  });
});

// The frontend's interface, as the seed gives it: the generated type must be usable wherever it is.
interface FrontendBackgroundJob {
  id: string;
  type: "import" | "export" | "validation" | "processing";
  status: "running" | "completed" | "failed";
  progress?: number; // 0-100
}

test("the generated BackgroundJob is a drop-in for the frontend's interface (checked by tsc)", () => {
  expectTypeOf<BackgroundJob>().toExtend<FrontendBackgroundJob>();
  expectTypeOf<BackgroundJob["status"]>().toEqualTypeOf<FrontendBackgroundJob["status"]>();
  expectTypeOf<BackgroundJob["type"]>().toEqualTypeOf<FrontendBackgroundJob["type"]>();
});
