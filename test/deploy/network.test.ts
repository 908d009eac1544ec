/** NetworkPolicies, evaluated: who may talk to whom, and where workers may fetch from. */
import { describe, expect, it } from "vitest";
import { nat64, parseCidr } from "./cidr.js";
import { mustFind, mustFindWorkload, NAMESPACE } from "./k8s.js";
import {
  egressOpensRange,
  egressToIp,
  ingressAdmits,
  ipBlocks,
  type PodRef,
  podToPod,
  rulesFor,
} from "./netpol.js";
import { FULL_TARGETS, render } from "./render.js";

/** Ranges a worker must never reach (cluster-internal, private, metadata, loopback). */
const FORBIDDEN_V4 = [
  "10.0.0.0/8",
  "172.16.0.0/12",
  "192.168.0.0/16",
  "100.64.0.0/10",
  "169.254.0.0/16",
  "127.0.0.0/8",
  "0.0.0.0/8",
];
const FORBIDDEN_V6 = ["::1/128", "fe80::/10", "fc00::/7", "::ffff:0:0/96", "64:ff9b:1::/48"];

/** Sample addresses, including the cloud metadata endpoints. */
const FORBIDDEN_IPS = [
  "10.0.0.1",
  "10.96.0.10",
  "172.16.0.1",
  "172.31.255.254",
  "192.168.1.1",
  "100.64.0.1",
  "100.100.100.200",
  "169.254.169.254",
  "169.254.170.2",
  "127.0.0.1",
  "0.0.0.1",
  "::1",
  "fe80::1",
  "fd00:ec2::254",
  "::ffff:169.254.169.254",
  "64:ff9b::a9fe:a9fe",
  "64:ff9b::a00:1",
  "64:ff9b:1::a00:1",
];
const PUBLIC_IPS = ["8.8.8.8", "93.184.215.14", "2606:4700::1111", "64:ff9b::808:808"];

const DNS: PodRef = { namespace: "kube-system", labels: { "k8s-app": "kube-dns" } };

describe.each(FULL_TARGETS)("deploy/%s NetworkPolicies", (target) => {
  const objects = render(target);
  const pod = (name: string): PodRef => ({
    namespace: NAMESPACE,
    labels: mustFindWorkload(objects, name).podLabels,
  });
  const worker = pod("heed-worker");
  const coordinator = pod("heed-coordinator");
  const nats = pod("heed-nats");
  const stranger: PodRef = { namespace: NAMESPACE, labels: { app: "something-else" } };
  const elsewhere = (p: PodRef): PodRef => ({ namespace: "other", labels: p.labels });

  it("deny by default: an unlabelled pod in the namespace can neither receive nor send", () => {
    expect(podToPod(objects, worker, stranger, 8080)).toBe(false);
    expect(podToPod(objects, stranger, nats, 4222)).toBe(false);
    expect(egressToIp(objects, stranger, "8.8.8.8", 443)).toBe(false);
  });

  describe("workers", () => {
    it("reach NATS, the coordinator and DNS", () => {
      expect(podToPod(objects, worker, nats, 4222)).toBe(true);
      expect(podToPod(objects, worker, coordinator, 7400)).toBe(true);
      expect(podToPod(objects, worker, DNS, 53, "UDP")).toBe(true);
      expect(podToPod(objects, worker, DNS, 53, "TCP")).toBe(true);
    });

    it("reach the public web on 80 and 443 only", () => {
      for (const ip of PUBLIC_IPS) {
        expect(egressToIp(objects, worker, ip, 443), `${ip}:443`).toBe(true);
        expect(egressToIp(objects, worker, ip, 80), `${ip}:80`).toBe(true);
        for (const port of [22, 25, 8080])
          expect(egressToIp(objects, worker, ip, port), `${ip}:${port}`).toBe(false);
      }
    });

    it("cannot reach private, shared, link-local (metadata), loopback or NAT64-mapped private addresses", () => {
      for (const ip of FORBIDDEN_IPS) {
        for (const port of [80, 443, 53, 4222, 7400]) {
          expect(egressToIp(objects, worker, ip, port), `${ip}:${port}`).toBe(false);
        }
      }
    });

    it("except the forbidden ranges wholly, in IPv4, IPv6 and NAT64 form, from every IP block", () => {
      const ranges = [
        ...FORBIDDEN_V4.map(parseCidr),
        ...FORBIDDEN_V4.map((r) => nat64(parseCidr(r))),
        ...FORBIDDEN_V6.map(parseCidr),
      ];
      for (const range of ranges) expect(egressOpensRange(objects, worker, range), range.text).toEqual([]);
      // The internet rule uses 0.0.0.0/0 with `except`, as intended (not a list of allowed ranges).
      expect(ipBlocks(objects, worker)).toContain("0.0.0.0/0");
    });

    it("accept traffic only from metrics scrapers, on the metrics port", () => {
      const scraper: PodRef = { namespace: "monitoring", labels: { "heed/metrics-scraper": "true" } };
      expect(podToPod(objects, scraper, worker, 9464)).toBe(true);
      expect(podToPod(objects, scraper, worker, 7400)).toBe(false);
      expect(podToPod(objects, coordinator, worker, 9464)).toBe(false);
    });
  });

  describe("the coordinator", () => {
    it("accepts gRPC from labelled clients only: workers and admin clients", () => {
      const admin: PodRef = { namespace: NAMESPACE, labels: { "heed/client": "admin" } };
      expect(podToPod(objects, worker, coordinator, 7400)).toBe(true);
      // An admin client (heed/client: admin) in the namespace may call it: both policies agree.
      expect(podToPod(objects, admin, coordinator, 7400)).toBe(true);
      expect(podToPod(objects, admin, coordinator, 9464)).toBe(false);
      // Everyone else is refused by the coordinator's own ingress policy.
      for (const [who, from] of [
        ["NATS", nats],
        ["an unlabelled pod", stranger],
        ["a worker-labelled pod in another namespace", elsewhere(worker)],
        ["a client label with another value", { namespace: NAMESPACE, labels: { "heed/client": "crawler" } }],
      ] as const) {
        expect(ingressAdmits(objects, from, coordinator, 7400), who).toBe(false);
      }
    });

    it("reaches NATS and DNS, and nothing on the internet or in the cluster besides", () => {
      expect(podToPod(objects, coordinator, nats, 4222)).toBe(true);
      expect(podToPod(objects, coordinator, DNS, 53, "UDP")).toBe(true);
      expect(ipBlocks(objects, coordinator)).toEqual([]);
      for (const ip of [...PUBLIC_IPS, ...FORBIDDEN_IPS]) {
        expect(egressToIp(objects, coordinator, ip, 443), ip).toBe(false);
      }
      expect(podToPod(objects, coordinator, worker, 9464)).toBe(false);
      expect(podToPod(objects, coordinator, nats, 8222)).toBe(false);
    });
  });

  describe("NATS", () => {
    it("accepts clients that are Heed pods in this namespace, and no one else", () => {
      expect(podToPod(objects, coordinator, nats, 4222)).toBe(true);
      expect(podToPod(objects, worker, nats, 4222)).toBe(true);
      expect(ingressAdmits(objects, stranger, nats, 4222)).toBe(false);
      expect(ingressAdmits(objects, elsewhere(worker), nats, 4222)).toBe(false);
      // Its monitoring port serves the kubelet's probes only.
      expect(ingressAdmits(objects, worker, nats, 8222)).toBe(false);
    });

    const clustered = (mustFind(objects, "StatefulSet", "heed-nats").spec?.replicas ?? 1) > 1;
    it.runIf(!clustered)("opens no connections of its own", () => {
      expect(rulesFor(objects, nats, "Egress")).toEqual([]);
      expect(egressToIp(objects, nats, "8.8.8.8", 443)).toBe(false);
      expect(podToPod(objects, nats, DNS, 53, "UDP")).toBe(false);
    });

    it.runIf(clustered)(
      "clustered: its servers reach each other's route port and DNS, and nothing else",
      () => {
        expect(podToPod(objects, nats, nats, 6222)).toBe(true);
        expect(podToPod(objects, nats, DNS, 53, "UDP")).toBe(true);
        // Routes are for NATS's own servers: no client or stranger reaches them.
        expect(ingressAdmits(objects, worker, nats, 6222)).toBe(false);
        expect(ingressAdmits(objects, coordinator, nats, 6222)).toBe(false);
        expect(ingressAdmits(objects, stranger, nats, 6222)).toBe(false);
        expect(podToPod(objects, nats, coordinator, 7400)).toBe(false);
        expect(podToPod(objects, nats, worker, 9464)).toBe(false);
        expect(egressToIp(objects, nats, "8.8.8.8", 443)).toBe(false);
        expect(egressToIp(objects, nats, "10.0.0.1", 6222)).toBe(false);
      },
    );
  });
});
