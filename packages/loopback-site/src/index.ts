export {
  defaultPlan,
  type HostPlan,
  type LoopbackSite,
  loopbackAddress,
  copyBody,
  type Redirect,
  type RequestRecord,
  type RobotsMode,
  type SiteHost,
  type SiteOptions,
  startLoopbackSite,
} from "./site.js";
