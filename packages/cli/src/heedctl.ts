// The `heedctl` binary's entry point (bin/heedctl.js imports dist/heedctl.js).
export { exitCodeOf, heedctlProgram, main } from "./heedctl/main.js";
