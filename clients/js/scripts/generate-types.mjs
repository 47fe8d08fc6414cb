// Regenerates src/schema.ts from openapi.json, the service's own schema (`make client-types` writes both).
import { writeFile } from "node:fs/promises";
import { schemaTypes } from "./schema-types.mjs";

await writeFile(new URL("../src/schema.ts", import.meta.url), await schemaTypes());
console.log("src/schema.ts regenerated from openapi.json");
