/** Where things are in the repository. */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), "../..");
export const DEPLOY_DIR = join(REPO_ROOT, "deploy");
export const HEED_BIN = join(REPO_ROOT, "packages/cli/bin/heed.js");
