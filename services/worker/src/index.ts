export type { Exchange } from "./capture/exchange.js";
export { recoverOpenWarcs } from "./capture/recover.js";
export {
  CaptureError,
  type CaptureLocation,
  createWarcWriter,
  type WarcStats,
  type WarcWriter,
} from "./capture/warc-writer.js";
export { type FetchDeps, FetchFailure, fetchLease } from "./fetch/fetch-lease.js";
export { directivesFromHeader } from "./links/directives.js";
export { extractLinks } from "./links/extract.js";
export { startWorker, WORKER_VERSION, type Worker, type WorkerStats } from "./worker.js";
