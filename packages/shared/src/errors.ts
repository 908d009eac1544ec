/**
 * Every Heed error has a stable `code` that logs, metrics and tests rely on.
 * Subclasses are grouped by what the caller should do next.
 */
export class HeedError extends Error {
  override name = "HeedError";
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** Input that can never succeed as given: fix it, do not retry. */
export class InvalidInputError extends HeedError {
  override name = "InvalidInputError";
}

/** A configuration value is wrong; `key` names it so the message can be one line. */
export class ConfigError extends InvalidInputError {
  override name = "ConfigError";
  readonly key: string;
  constructor(key: string, message: string, options?: { cause?: unknown }) {
    super("HEED_CONFIG_INVALID", `${key}: ${message}`, options);
    this.key = key;
  }
}

/** A URL that Heed will not crawl; `code` says why (scheme, credentials, length, syntax). */
export class InvalidUrlError extends InvalidInputError {
  override name = "InvalidUrlError";
}

/** A peer or resource is unavailable now; retrying later may work. */
export class UnavailableError extends HeedError {
  override name = "UnavailableError";
}

/** A required program or file is missing from this machine. */
export class SetupError extends HeedError {
  override name = "SetupError";
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** What the request names does not exist (gRPC NOT_FOUND). */
export class NotFoundError extends InvalidInputError {
  override name = "NotFoundError";
  constructor(message: string) {
    super("HEED_NOT_FOUND", message);
  }
}

/** What the request would create exists already, and differs (gRPC ALREADY_EXISTS). */
export class AlreadyExistsError extends InvalidInputError {
  override name = "AlreadyExistsError";
  constructor(message: string) {
    super("HEED_ALREADY_EXISTS", message);
  }
}

/** The request is valid but not in the current state (gRPC FAILED_PRECONDITION). */
export class StateError extends InvalidInputError {
  override name = "StateError";
  constructor(message: string) {
    super("HEED_INVALID_STATE", message);
  }
}
