import { Readable } from "node:stream";
import type { Dispatcher } from "undici";
import { headerPairs } from "../capture/exchange.js";
import { type BodyRead, readDecoded } from "./body.js";

/** A response's status line and its header fields as received (names in their case, in order). */
export interface Answer {
  statusCode: number;
  statusText: string;
  headers: [string, string][];
}

/**
 * How the body is read, chosen once the headers are in: as it comes (no
 * content-encoding, or a body that is only captured), or through a decoder.
 * Throwing refuses the body: the fetch fails with that error.
 */
export type BodyPlan = (answer: Answer) => NodeJS.ReadWriteStream | undefined;

export interface GetOptions {
  dispatcher: Dispatcher;
  headers: Record<string, string>;
  signal: AbortSignal;
  headersTimeout: number;
  bodyTimeout: number;
  /** At most this many bytes of body are kept (decoded, and as received); the request stops there. */
  maxBytes: number;
  plan: BodyPlan;
}

export interface Got {
  answer: Answer;
  body: Promise<BodyRead>;
}

/**
 * One GET through undici's dispatcher with a handler of our own, rather than
 * `request()`: the body goes straight into a list of chunks, without a
 * response stream, an async resource and headers parsed twice per page (a
 * large share of a worker's CPU per page). A body with a content-encoding
 * still streams through its decoder with the same limits.
 */
export function get(url: URL, options: GetOptions): Promise<Got> {
  return new Promise<Got>((resolveAnswer, rejectAnswer) => {
    const { signal, maxBytes } = options;
    let abort: ((reason?: Error) => void) | undefined;
    let reason: Error | undefined;
    let answered = false;
    let settled = false;
    let ended = false;
    // The body as it comes; or, when a decoder reads it, the stream it is pushed into.
    const chunks: Buffer[] = [];
    let size = 0;
    let stream: Readable | undefined;
    let resume: (() => void) | undefined;
    let resolveBody: (body: BodyRead) => void = () => undefined;
    let rejectBody: (err: Error) => void = () => undefined;

    const stopListening = () => signal.removeEventListener("abort", onAbort);
    const onAbort = () => {
      reason = abortReason(signal);
      abort?.(reason);
    };
    const finishPlain = (truncated: boolean) => {
      settled = true;
      stopListening();
      resolveBody({
        bytes: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size),
        truncated,
        raw: chunks,
        rawBytes: size,
        rawComplete: !truncated,
        plain: true,
      });
    };
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      stopListening();
      if (!answered) rejectAnswer(err);
      else if (stream !== undefined) stream.destroy(err);
      else rejectBody(err);
    };

    const handler: Dispatcher.DispatchHandler = {
      onConnect(abortRequest) {
        abort = abortRequest;
        if (reason !== undefined) abortRequest(reason);
      },
      onHeaders(statusCode, rawHeaders, resumeRequest, statusText) {
        // 1xx answers come before the real one and are not it.
        if (statusCode < 200) return true;
        answered = true;
        resume = resumeRequest;
        const answer: Answer = { statusCode, statusText, headers: headerPairs(rawHeaders) };
        let decoder: NodeJS.ReadWriteStream | undefined;
        try {
          decoder = options.plan(answer);
        } catch (err) {
          const body = Promise.reject(err as Error);
          body.catch(() => undefined);
          settled = true;
          stopListening();
          resolveAnswer({ answer, body });
          abort?.(err as Error);
          return false;
        }
        const body = new Promise<BodyRead>((resolve, reject) => {
          resolveBody = resolve;
          rejectBody = reject;
        });
        body.catch(() => undefined);
        if (decoder !== undefined) {
          stream = new Readable({
            read: () => resume?.(),
            destroy: (err, done) => {
              // Dropped before its end (the decoded body reached its cap): the request stops too.
              if (!settled) {
                settled = true;
                stopListening();
                abort?.(err ?? new Error("body no longer read"));
              }
              done(err);
            },
          });
          const read = readDecoded(stream, decoder, maxBytes);
          read.then(resolveBody, rejectBody);
        }
        resolveAnswer({ answer, body });
        return true;
      },
      onData(chunk) {
        if (settled) return false;
        if (stream !== undefined) return stream.push(chunk);
        const room = maxBytes - size;
        if (chunk.length > room) {
          if (room > 0) chunks.push(chunk.subarray(0, room));
          size += Math.max(0, room);
          finishPlain(true);
          // The rest is dropped. What already came in may end the response, which keeps its
          // connection for the host's next lease; a body still coming is cut off there.
          setImmediate(() => {
            if (!ended) abort?.(new Error("body cut at the lease's byte limit"));
          });
          return true;
        }
        chunks.push(chunk);
        size += chunk.length;
        return true;
      },
      onComplete() {
        ended = true;
        if (settled) return;
        if (stream !== undefined) {
          settled = true;
          stopListening();
          stream.push(null);
        } else finishPlain(false);
      },
      onError(err) {
        fail(err);
      },
    };

    if (signal.aborted) {
      rejectAnswer(abortReason(signal));
      return;
    }
    signal.addEventListener("abort", onAbort, { once: true });
    options.dispatcher.dispatch(
      {
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: "GET",
        headers: options.headers,
        headersTimeout: options.headersTimeout,
        bodyTimeout: options.bodyTimeout,
      },
      handler,
    );
  });
}

/** What an aborted signal fails the request with, as undici's request() does. */
function abortReason(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  return r instanceof Error
    ? r
    : Object.assign(new Error("This operation was aborted"), { name: "AbortError" });
}
