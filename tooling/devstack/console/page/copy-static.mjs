// Copies the static files beside the compiled scripts (tsc only compiles),
// and dagre's browser build with its licence from the pinned package.
import { cpSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

mkdirSync("dist/vendor", { recursive: true });
cpSync("public", "dist", { recursive: true });
const dagre = dirname(fileURLToPath(import.meta.resolve("@dagrejs/dagre")));
for (const file of ["dagre.min.js", "dagre.min.js.LEGAL.txt"]) {
  cpSync(join(dagre, file), join("dist/vendor", file));
}
