import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

/**
 * A command run in a real pseudo-terminal, as a person at a terminal runs it:
 * a detached session of a private tmux server (nothing here touches anyone
 * else's sessions), the pane kept after the command exits so its last screen
 * can still be read.
 */
export interface Terminal {
  /** The pane's text, its last 100 lines of scrollback included, wrapped lines joined. */
  screen(): string;
  /** Keys as tmux names them (`C-c`). */
  sendKeys(...keys: string[]): void;
  /** The command's exit status once it has exited, else undefined. */
  exitStatus(): number | undefined;
  /** The pid of the pane's shell, whose child is the command. */
  shellPid(): number;
  /** Ends the tmux server, and with it the command if it is still running. */
  close(): void;
}

export interface TerminalOptions {
  /** The session's name, part of the private server's socket name. */
  name: string;
  /** A directory of the test's own, for the exit status file. */
  scratch: string;
  width?: number;
  height?: number;
  /** Set in the command's environment. */
  env?: Record<string, string>;
}

/** Starts `command` (program and arguments) in a new terminal; throws when tmux is missing. */
export function startTerminal(command: string[], options: TerminalOptions): Terminal {
  try {
    execFileSync("tmux", ["-V"]);
  } catch {
    throw new Error("this test needs tmux for a real pseudo-terminal: apt-get install -y tmux");
  }
  const { name } = options;
  const socket = `heed-${name}-${process.pid}`;
  const tmux = (...args: string[]) =>
    execFileSync("tmux", ["-L", socket, "-f", "/dev/null", ...args], { encoding: "utf8" });
  // bash, as an interactive user's shell would, waits out a Ctrl-C and records the exit status:
  // tmux's own pane status is not always filled in when its server runs under the test runner.
  const statusFile = join(options.scratch, `${name}.status`);
  tmux(
    "new-session",
    "-d",
    "-s",
    name,
    "-x",
    String(options.width ?? 160),
    "-y",
    String(options.height ?? 50),
    ...Object.entries(options.env ?? {}).flatMap(([k, v]) => ["-e", `${k}=${v}`]),
    "bash",
    "-c",
    `"$0" "$@"; echo $? > '${statusFile}'`,
    ...command,
    ";",
    "set-option",
    "-t",
    name,
    "remain-on-exit",
    "on",
  );
  return {
    screen: () => tmux("capture-pane", "-p", "-J", "-S", "-100", "-t", name),
    sendKeys: (...keys) => void tmux("send-keys", "-t", name, ...keys),
    exitStatus() {
      const text = existsSync(statusFile) ? readFileSync(statusFile, "utf8").trim() : "";
      return text === "" ? undefined : Number(text);
    },
    shellPid: () => Number(tmux("display-message", "-p", "-t", name, "#{pane_pid}").trim()),
    close() {
      try {
        tmux("kill-server");
      } catch {
        // Already gone.
      }
    },
  };
}
