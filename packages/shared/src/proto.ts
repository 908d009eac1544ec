// The generated wire types, one import for every service.
export {
  FetchError,
  FetchErrorKind,
  FetchResult,
  FrontierServiceClient,
  type FrontierServiceServer,
  FrontierServiceService,
  RenewAck,
  RenewRequest,
  RenewResponse,
  ReportAck,
  ReportOutcome,
  ReportRequest,
  ReportResponse,
} from "./gen/heed/v1/frontier.js";
export { FetchLimits, Lease, LeaseBatch, LeaseKind, LeaseRequest } from "./gen/heed/v1/lease.js";
