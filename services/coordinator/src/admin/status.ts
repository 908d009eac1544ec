import { Metadata, status } from "@grpc/grpc-js";
import {
  AlreadyExistsError,
  ConfigError,
  errorMessage,
  HeedError,
  InvalidInputError,
  NotFoundError,
  StateError,
  UnavailableError,
} from "@heed/shared";

export interface GrpcError {
  code: status;
  details: string;
  metadata?: Metadata;
}

/** Another shard of the fleet answered with this error: passed on with its code and words. */
export class ShardAnswerError extends HeedError {
  override name = "ShardAnswerError";
  readonly grpcCode: status;
  constructor(grpcCode: status, details: string) {
    super("HEED_SHARD_ERROR", details);
    this.grpcCode = grpcCode;
  }
}

/** Trailing metadata naming the request field a bad request got wrong, for clients that want it apart. */
export const FIELD_METADATA_KEY = "heed-field";

/**
 * Heed's errors as gRPC statuses: the caller learns what to do next from the
 * code (fix the input, look elsewhere, wait) and what was wrong from details.
 */
export function toGrpcError(err: unknown): GrpcError {
  if (err instanceof ShardAnswerError) return { code: err.grpcCode, details: err.message };
  if (err instanceof NotFoundError) return { code: status.NOT_FOUND, details: err.message };
  if (err instanceof StateError) return { code: status.FAILED_PRECONDITION, details: err.message };
  if (err instanceof AlreadyExistsError) return { code: status.ALREADY_EXISTS, details: err.message };
  if (err instanceof ConfigError) {
    const metadata = new Metadata();
    metadata.set(FIELD_METADATA_KEY, err.key);
    return { code: status.INVALID_ARGUMENT, details: err.message, metadata };
  }
  if (err instanceof InvalidInputError) return { code: status.INVALID_ARGUMENT, details: err.message };
  if (err instanceof UnavailableError) return { code: status.UNAVAILABLE, details: err.message };
  if (err instanceof HeedError) return { code: status.INTERNAL, details: `${err.message} (${err.code})` };
  return { code: status.INTERNAL, details: errorMessage(err) };
}
