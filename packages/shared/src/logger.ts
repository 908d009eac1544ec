import { type Logger, type LoggerOptions, pino } from "pino";
import pretty from "pino-pretty";

export type { Logger } from "pino";

export interface LoggerSettings {
  level?: string;
  /** Human-readable lines; defaults to whether stderr is a terminal. */
  pretty?: boolean;
  name?: string;
}

// Secrets must never reach a log line, whatever a caller passes in.
const redact: LoggerOptions["redact"] = {
  paths: [
    "token",
    "*.token",
    "password",
    "*.password",
    "pass",
    "*.pass",
    "authorization",
    "*.authorization",
    "natsToken",
    "adminToken",
    "readOnlyToken",
    "workerToken",
  ],
  censor: "[redacted]",
};

/** The one root logger; components take children with their ids (crawlId, leaseId, host, workerId). */
export function createLogger(settings: LoggerSettings = {}): Logger {
  const options: LoggerOptions = {
    level: settings.level ?? "info",
    redact,
    base: { name: settings.name ?? "heed" },
  };
  const wantPretty = settings.pretty ?? process.stderr.isTTY === true;
  if (wantPretty) {
    return pino(options, pretty({ colorize: true, destination: 2, sync: true, ignore: "pid,hostname" }));
  }
  return pino(options, pino.destination({ dest: 2, sync: true }));
}

export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
