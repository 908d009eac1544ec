/**
 * Commander reports usage errors and --help/--version by throwing (with
 * exitOverride): the exit code those should have, or undefined for any other error.
 */
export function commanderExitCode(err: unknown, badInput: number): number | undefined {
  if (
    err === null ||
    typeof err !== "object" ||
    !("code" in err) ||
    typeof err.code !== "string" ||
    !err.code.startsWith("commander.")
  ) {
    return undefined;
  }
  const exitCode = "exitCode" in err && typeof err.exitCode === "number" ? err.exitCode : badInput;
  return exitCode === 0 ? 0 : badInput;
}
