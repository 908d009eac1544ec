export {
  copyBody,
  defaultPlan,
  type HostPlan,
  type LoopbackSite,
  loopbackAddress,
  type Redirect,
  type RequestRecord,
  type RobotsMode,
  type SiteHost,
  type SiteOptions,
  startLoopbackSite,
} from "./site.js";
