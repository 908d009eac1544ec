export { FetchFailure, fetchLease, type FetchDeps } from "./fetch/fetch-lease.js";
export { extractLinks } from "./links/extract.js";
export { directivesFromHeader } from "./links/directives.js";
export { startWorker, type Worker, type WorkerStats, WORKER_VERSION } from "./worker.js";
