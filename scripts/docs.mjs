// Rewrites the generated configuration tables in the docs from the schemas (after `tsc --build`).
import { DOC_FILES, updateDocs } from "../packages/cli/dist/config-docs.js";

const changed = updateDocs(DOC_FILES);
process.stdout.write(changed.length > 0 ? `updated ${changed.join(", ")}\n` : "docs up to date\n");
