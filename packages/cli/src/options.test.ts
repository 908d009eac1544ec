import { coordinatorConfigSchema, workerConfigSchema } from "@heed/shared";
import { describe, expect, it } from "vitest";
import { COORDINATOR_FLAGS, WORKER_FLAGS } from "./options.js";

describe("service flags", () => {
  it("offer a flag for every coordinator and worker setting, so none is reachable only by file", () => {
    expect(COORDINATOR_FLAGS.map((f) => f.key).sort()).toEqual(
      Object.keys(coordinatorConfigSchema.shape).sort(),
    );
    expect(WORKER_FLAGS.map((f) => f.key).sort()).toEqual(Object.keys(workerConfigSchema.shape).sort());
  });
});
