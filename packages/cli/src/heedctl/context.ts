import type { Command } from "commander";
import { type Admin, connect } from "./client.js";
import { loadCtlSettings } from "./settings.js";

export interface Ctx {
  admin: Admin;
  /** --json: one JSON document (or NDJSON line) per result on stdout, for scripts. */
  json: boolean;
  /** Whether stdout is a terminal (progress bars, in-place updates). */
  tty: boolean;
  server: string;
}

/** The exit codes heedctl promises scripts. */
export const CTL_EXIT = { ok: 0, failure: 1, badInput: 2, unreachable: 3 } as const;

/**
 * Wraps a command's handler: settings from flags, env and file, a client for
 * the handler's lifetime, and its exit code. Handlers read their arguments
 * and options from the Command.
 */
export function act(handler: (ctx: Ctx, cmd: Command) => Promise<number | undefined>) {
  return async (...all: unknown[]): Promise<void> => {
    const cmd = all[all.length - 1] as Command;
    const settings = loadCtlSettings(cmd.optsWithGlobals());
    const admin = connect(settings);
    try {
      const code = await handler(
        {
          admin,
          json: cmd.optsWithGlobals().json === true,
          tty: process.stdout.isTTY === true,
          server: settings.server,
        },
        cmd,
      );
      process.exitCode = code ?? CTL_EXIT.ok;
    } finally {
      admin.close();
    }
  };
}

export function arg(cmd: Command, i: number): string {
  const v = cmd.processedArgs[i];
  return typeof v === "string" ? v : "";
}

export function args(cmd: Command, i: number): string[] {
  const v = cmd.processedArgs[i];
  return Array.isArray(v) ? v.map(String) : [];
}
