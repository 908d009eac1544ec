export { isLoopbackListen } from "./admin/auth.js";
export { FIELD_METADATA_KEY } from "./admin/status.js";
export { crawlToProto, urlToProto } from "./admin/wire.js";
export { type Coordinator, startCoordinator } from "./coordinator.js";
export { checkFrontier, type FrontierCheck, type FrontierProblem } from "./frontier/check.js";
export { type Frontier, openFrontier } from "./frontier/frontier.js";
export type {
  CrawlRecord,
  HostState,
  LeaseRecord,
  RobotsRecord,
  UrlRecord,
  UrlState,
} from "./frontier/records.js";
export { type FrontierStore, loadCrawl, openFrontierStore } from "./frontier/store.js";
export { waitForCrawl } from "./wait.js";
export type { WorkerEntry, WorkerRegistry } from "./workers/registry.js";
