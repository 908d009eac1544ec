#!/usr/bin/env node
import { main } from "../dist/heedctl.js";

process.exitCode = await main(process.argv);
