export { type Coordinator, startCoordinator } from "./coordinator.js";
export { type Frontier, openFrontier } from "./frontier/frontier.js";
export type {
  CrawlRecord,
  HostState,
  LeaseRecord,
  RobotsRecord,
  UrlRecord,
  UrlState,
} from "./frontier/records.js";
export { waitForCrawl } from "./wait.js";
