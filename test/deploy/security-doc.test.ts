/**
 * docs/security.md describes what the shipped manifests enforce; this reads
 * the rendered manifests and the document side by side, so neither drifts
 * from the other unnoticed.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  allContainers,
  byKind,
  containerEnv,
  type K8sObject,
  mustFindWorkload,
  NAMESPACE,
  workloads,
} from "./k8s.js";
import { ipBlocks, rulesFor } from "./netpol.js";
import { render } from "./render.js";
import { REPO_ROOT } from "./repo.js";

const doc = readFileSync(join(REPO_ROOT, "docs/security.md"), "utf8").replace(/\s+/g, " ");
const manifests = section(doc, "## What the shipped manifests enforce");

function section(text: string, heading: string): string {
  const start = text.indexOf(heading);
  expect(start, `docs/security.md has "${heading}"`).toBeGreaterThanOrEqual(0);
  const next = text.indexOf(" ## ", start + heading.length);
  return text.slice(start, next < 0 ? undefined : next);
}

const workerRef = (objects: readonly K8sObject[]) => ({
  namespace: NAMESPACE,
  labels: mustFindWorkload(objects, "heed-worker").podLabels,
});

describe("docs/security.md against the archive overlay", () => {
  const objects = render("archive");

  it("lists every address range the workers' NetworkPolicy keeps them from, and their ports", () => {
    const worker = workerRef(objects);
    const excepted = byKind(objects, "NetworkPolicy").flatMap((p) =>
      (p.spec?.egress ?? []).flatMap((r) => (r.to ?? []).flatMap((peer) => peer.ipBlock?.except ?? [])),
    );
    expect(excepted.length).toBeGreaterThan(10);
    for (const cidr of excepted) {
      // The NAT64 forms of the IPv4 ranges (64:ff9b::/96 + the range) are described as one rule.
      expect(manifests, cidr).toContain(cidr.startsWith("64:ff9b::") ? "64:ff9b::/96" : cidr);
    }
    const webPorts = rulesFor(objects, worker, "Egress")
      .filter((r) => ("to" in r ? (r.to ?? []) : []).some((peer) => peer.ipBlock !== undefined))
      .flatMap((r) => (r.ports ?? []).map((p) => p.port));
    expect(ipBlocks(objects, worker)).toContain("0.0.0.0/0");
    expect(webPorts.sort()).toEqual([443, 80]);
    expect(manifests).toContain("public web on ports 80 and 443 only");
  });

  it("matches how the pods run and where their secrets come from", () => {
    for (const w of workloads(objects)) {
      expect(w.pod.automountServiceAccountToken, w.name).toBe(false);
      for (const c of allContainers(w.pod)) {
        const where = `${w.name}/${c.name}`;
        expect(c.securityContext?.readOnlyRootFilesystem, where).toBe(true);
        expect(c.securityContext?.allowPrivilegeEscalation, where).toBe(false);
        expect(c.securityContext?.capabilities?.drop, where).toContain("ALL");
        const nonRoot = c.securityContext?.runAsNonRoot ?? w.pod.securityContext?.runAsNonRoot;
        expect(nonRoot, where).toBe(true);
        const seccomp =
          c.securityContext?.seccompProfile?.type ?? w.pod.securityContext?.seccompProfile?.type;
        expect(seccomp, where).toBe("RuntimeDefault");
        const uid = c.securityContext?.runAsUser ?? w.pod.securityContext?.runAsUser;
        expect(manifests, `${where} runs as ${uid}`).toContain(String(uid));
      }
    }
    for (const phrase of [
      "read-only root file system",
      "no privilege escalation",
      "all capabilities dropped",
    ])
      expect(manifests).toContain(phrase);
    expect(manifests).toContain("RuntimeDefault");
    expect(manifests).toContain("no pod mounts a service-account token");
    // The base's placeholder Secrets are gone from the archive overlay: created out of band.
    expect(byKind(objects, "Secret").map((s) => s.metadata.name)).not.toContain("heed-api-tokens");
    expect(manifests).toContain("the archive overlay deletes them");
  });

  it("says TLS is off in the shipped manifests, as it is", () => {
    const tlsEnv = workloads(objects).flatMap((w) =>
      allContainers(w.pod).flatMap((c) =>
        [...containerEnv(c, objects).keys()].filter((k) => /CERT_FILE|KEY_FILE|CA_FILE|GRPC_TLS/.test(k)),
      ),
    );
    expect(tlsEnv).toEqual([]);
    expect(doc).toContain("The shipped manifests do not turn TLS on");
  });
});
