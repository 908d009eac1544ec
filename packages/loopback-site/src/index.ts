export {
  defaultPlan,
  type HostPlan,
  type LoopbackSite,
  type RequestRecord,
  type RobotsMode,
  type SiteHost,
  type SiteOptions,
  startLoopbackSite,
} from "./site.js";
