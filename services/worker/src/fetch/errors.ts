import { HeedError, InvalidUrlError, proto } from "@heed/shared";

const Kind = proto.FetchErrorKind;

/** A fetch that produced no usable HTTP answer; `kind` tells the coordinator whether to retry. */
export class FetchFailure extends HeedError {
  override name = "FetchFailure";
  readonly kind: proto.FetchErrorKind;
  constructor(kind: proto.FetchErrorKind, code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.kind = kind;
  }
}

function codeOf(err: unknown): string {
  if (err !== null && typeof err === "object" && "code" in err && typeof err.code === "string")
    return err.code;
  if (err instanceof Error) return err.name;
  return "UNKNOWN";
}

/** Maps whatever undici, the resolver or a stream threw onto a kind the coordinator understands. */
export function classifyFetchError(err: unknown): FetchFailure {
  if (err instanceof FetchFailure) return err;
  if (err instanceof InvalidUrlError) {
    return new FetchFailure(Kind.FETCH_ERROR_KIND_INVALID_URL, err.code, err.message, { cause: err });
  }
  const cause = err instanceof Error && err.cause !== undefined ? err.cause : undefined;
  if (cause instanceof FetchFailure) return cause;
  const code = codeOf(err);
  const causeCode = cause !== undefined ? codeOf(cause) : "";
  const message = err instanceof Error ? err.message : String(err);
  const make = (kind: proto.FetchErrorKind, c = code) => new FetchFailure(kind, c, message, { cause: err });
  for (const c of [code, causeCode]) {
    if (c === "HEED_ADDRESS_BLOCKED") return make(Kind.FETCH_ERROR_KIND_BLOCKED_ADDRESS, c);
    if (c === "ENOTFOUND" || c === "EAI_AGAIN" || c === "EAI_NODATA" || c === "EAI_NONAME") {
      return make(Kind.FETCH_ERROR_KIND_DNS, c);
    }
    if (
      c === "UND_ERR_CONNECT_TIMEOUT" ||
      c === "UND_ERR_HEADERS_TIMEOUT" ||
      c === "UND_ERR_BODY_TIMEOUT" ||
      c === "TimeoutError" ||
      c === "AbortError" ||
      c === "ETIMEDOUT"
    ) {
      return make(Kind.FETCH_ERROR_KIND_TIMEOUT, c);
    }
    if (
      c === "ECONNREFUSED" ||
      c === "ECONNRESET" ||
      c === "EHOSTUNREACH" ||
      c === "ENETUNREACH" ||
      c === "EPIPE"
    ) {
      return make(Kind.FETCH_ERROR_KIND_CONNECT, c);
    }
    if (
      c.startsWith("HPE_") ||
      c === "UND_ERR_SOCKET" ||
      c === "HTTPParserError" ||
      c === "UND_ERR_HEADERS_OVERFLOW" ||
      c === "UND_ERR_RES_CONTENT_LENGTH_MISMATCH" ||
      c === "UND_ERR_INFO" ||
      c === "Z_DATA_ERROR" ||
      c === "ERR_INVALID_URL"
    ) {
      return make(Kind.FETCH_ERROR_KIND_PROTOCOL, c);
    }
  }
  return make(Kind.FETCH_ERROR_KIND_OTHER);
}
