// Hot, consistent backup of a coordinator's LMDB frontier, safe while the
// coordinator runs: LMDB copies the environment inside one read transaction
// (mdb_env_copy2, compacting), so the copy is the frontier as of one commit.
//
// Run it inside the coordinator pod (the image has node and lmdb, no shell tools):
//   kubectl -n heed exec -i heed-coordinator-0 -- node --input-type=module - < deploy/ops/lmdb-backup.mjs
// It writes $HEED_DATA_DIR/backup/<timestamp>/frontier.lmdb (on the same volume:
// keep free space for one copy) and prints {"dir": ..., "file": ..., "bytes": ...}.
// See deploy/README.md, "Back up and restore the frontier".
import { mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { open } from "lmdb";

const dataDir = process.env.HEED_DATA_DIR ?? "/var/lib/heed";
const source = join(dataDir, "frontier.lmdb");
statSync(source); // fail plainly when there is no frontier here
const dir = join(dataDir, "backup", new Date().toISOString().replace(/[:.]/g, "-"));
const file = join(dir, "frontier.lmdb");
mkdirSync(dir, { recursive: true });
const env = open({ path: source, readOnly: true });
try {
  await env.backup(file, true);
} finally {
  await env.close();
}
process.stdout.write(`${JSON.stringify({ dir, file, bytes: statSync(file).size })}\n`);
