import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { open } from "lmdb";
import { afterEach, beforeEach, expect, it } from "vitest";
import { openFrontierStore } from "./store.js";
import { newHostState } from "./txn.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "heed-store-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

it("reads a frontier written before record shapes were shared, and writes it on", async () => {
  // As earlier versions wrote it: every value carries its own key names.
  const before = open({ path: `${dir}/frontier.lmdb`, maxDbs: 16 });
  const oldHosts = before.openDB({ name: "hosts", encoding: "msgpack", cache: false });
  before.transactionSync(() => {
    oldHosts.putSync("a.example", { ...newHostState("a.example"), fetches: 3 });
  });
  await before.close();

  const store = openFrontierStore(dir);
  expect(store.hosts.get("a.example")).toMatchObject({ hostKey: "a.example", fetches: 3 });
  store.root.transactionSync(() => {
    store.hosts.putSync("b.example", { ...newHostState("b.example"), fetches: 5 });
  });
  expect(store.hosts.get("a.example")?.fetches).toBe(3);
  await store.close();

  const again = openFrontierStore(dir);
  expect([...again.hosts.getKeys()]).toEqual(["a.example", "b.example"]);
  expect(again.hosts.get("a.example")?.fetches).toBe(3);
  expect(again.hosts.get("b.example")?.fetches).toBe(5);
  await again.close();
});
