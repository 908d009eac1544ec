/**
 * A small NetworkPolicy evaluator (Kubernetes semantics: a pod selected by any
 * policy of a direction is isolated in that direction, and allowed traffic is
 * the union of the selecting policies' rules).
 */
import type { INetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import { type Cidr, containsIp, covers, overlaps, parseCidr } from "./cidr.js";
import { byKind, type K8sObject, NAMESPACE, selectorMatches } from "./k8s.js";

type Spec = NonNullable<INetworkPolicy["spec"]>;
type Rule = NonNullable<Spec["egress"]>[number] | NonNullable<Spec["ingress"]>[number];
type Peer = NonNullable<NonNullable<Spec["egress"]>[number]["to"]>[number];
type Port = NonNullable<Rule["ports"]>[number];

export type Direction = "Ingress" | "Egress";
export type Protocol = "TCP" | "UDP" | "SCTP";

/** A pod somewhere in the cluster. */
export interface PodRef {
  namespace: string;
  labels: Record<string, string>;
}

/** Namespaces carry their name as a label (kubernetes.io/metadata.name), as the API server sets it. */
const namespaceLabels = (ns: string): Record<string, string> => ({ "kubernetes.io/metadata.name": ns });

function policyTypes(p: Spec): Direction[] {
  if (p.policyTypes && p.policyTypes.length > 0)
    return p.policyTypes.filter((t): t is Direction => t === "Ingress" || t === "Egress");
  return p.egress && p.egress.length > 0 ? ["Ingress", "Egress"] : ["Ingress"];
}

/** Policies that select `pod` for a direction. */
export function selecting(objects: readonly K8sObject[], pod: PodRef, direction: Direction): Spec[] {
  return byKind(objects, "NetworkPolicy")
    .filter((p) => (p.metadata.namespace ?? NAMESPACE) === pod.namespace)
    .flatMap((p) => (p.spec ? [p.spec] : []))
    .filter((s) => selectorMatches(s.podSelector, pod.labels) && policyTypes(s).includes(direction));
}

export function rulesFor(objects: readonly K8sObject[], pod: PodRef, direction: Direction): Rule[] {
  return selecting(objects, pod, direction).flatMap((s) =>
    direction === "Egress" ? (s.egress ?? []) : (s.ingress ?? []),
  );
}

const peersOf = (rule: Rule): Peer[] | undefined =>
  "to" in rule ? rule.to : "from" in rule ? rule.from : undefined;

function portMatches(ports: Port[] | undefined, port: number, protocol: Protocol): boolean {
  if (!ports || ports.length === 0) return true;
  return ports.some((p) => {
    if ((p.protocol ?? "TCP") !== protocol) return false;
    if (p.port === undefined) return true;
    if (typeof p.port !== "number") return false; // named ports cannot match an IP block
    return p.endPort !== undefined ? port >= p.port && port <= p.endPort : port === p.port;
  });
}

function peerMatchesPod(peer: Peer, policyNamespace: string, other: PodRef): boolean {
  if (peer.ipBlock) return false; // pods are reached by selectors here, not by guessing their IPs
  if (peer.namespaceSelector) {
    if (!selectorMatches(peer.namespaceSelector, namespaceLabels(other.namespace))) return false;
  } else if (other.namespace !== policyNamespace) {
    return false;
  }
  return selectorMatches(peer.podSelector, other.labels);
}

function peerMatchesIp(peer: Peer, ip: string): boolean {
  if (!peer.ipBlock) return false;
  const block = parseCidr(peer.ipBlock.cidr);
  if (!containsIp(block, ip)) return false;
  return !(peer.ipBlock.except ?? []).some((e) => containsIp(parseCidr(e), ip));
}

function allowed(
  objects: readonly K8sObject[],
  pod: PodRef,
  direction: Direction,
  port: number,
  protocol: Protocol,
  matches: (peer: Peer) => boolean,
): boolean {
  const policies = selecting(objects, pod, direction);
  if (policies.length === 0) return true; // not isolated
  return rulesFor(objects, pod, direction).some((rule) => {
    if (!portMatches(rule.ports, port, protocol)) return false;
    const peers = peersOf(rule);
    return peers === undefined || peers.length === 0 || peers.some(matches);
  });
}

/** May `from` open a connection to the address ip:port? (Egress side only.) */
export function egressToIp(
  objects: readonly K8sObject[],
  from: PodRef,
  ip: string,
  port: number,
  protocol: Protocol = "TCP",
) {
  return allowed(objects, from, "Egress", port, protocol, (peer) => peerMatchesIp(peer, ip));
}

/** Does `to`'s side (its ingress policies) admit `from` on port? */
export function ingressAdmits(
  objects: readonly K8sObject[],
  from: PodRef,
  to: PodRef,
  port: number,
  protocol: Protocol = "TCP",
): boolean {
  return allowed(objects, to, "Ingress", port, protocol, (peer) => peerMatchesPod(peer, to.namespace, from));
}

/** May `from` reach pod `to` on port, given both sides' policies? */
export function podToPod(
  objects: readonly K8sObject[],
  from: PodRef,
  to: PodRef,
  port: number,
  protocol: Protocol = "TCP",
): boolean {
  const out = allowed(objects, from, "Egress", port, protocol, (peer) =>
    peerMatchesPod(peer, from.namespace, to),
  );
  return out && ingressAdmits(objects, from, to, port, protocol);
}

/**
 * CIDR-complete check: does any egress rule of `from` let traffic into any
 * address of `range`? (Rules with no peers allow everything.)
 */
export function egressOpensRange(objects: readonly K8sObject[], from: PodRef, range: Cidr): string[] {
  const leaks: string[] = [];
  for (const rule of rulesFor(objects, from, "Egress")) {
    const peers = peersOf(rule);
    if (peers === undefined || peers.length === 0) {
      leaks.push(`a rule without peers allows ${range.text}`);
      continue;
    }
    for (const peer of peers) {
      if (!peer.ipBlock) continue;
      const block = parseCidr(peer.ipBlock.cidr);
      if (!overlaps(block, range)) continue;
      const excepted = (peer.ipBlock.except ?? []).some((e) => covers(parseCidr(e), range));
      if (!excepted) leaks.push(`ipBlock ${peer.ipBlock.cidr} does not except all of ${range.text}`);
    }
  }
  return leaks;
}

/** The ipBlock peers of a pod's egress rules. */
export function ipBlocks(objects: readonly K8sObject[], from: PodRef): string[] {
  return rulesFor(objects, from, "Egress").flatMap((r) =>
    (peersOf(r) ?? []).flatMap((p) => (p.ipBlock ? [p.ipBlock.cidr] : [])),
  );
}
