import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import { createRequestSigner, generateSigningKey, proto } from "@heed/shared";
import { fetchLease } from "@heed/worker";
import { Agent } from "undici";

/**
 * Web Bot Auth cost per request: the same page fetched through the worker's
 * fetch path, signed and unsigned, in alternating rounds so both see the same
 * machine load; plus the cost of one signature alone.
 */
export interface SigningFigures {
  requests: number;
  unsignedMsPerRequest: number;
  signedMsPerRequest: number;
  ratio: number;
  signOnlyMicros: number;
}

export async function signingBenchmark(options: {
  requests: number;
  rounds: number;
}): Promise<SigningFigures> {
  const server = createServer((_req, res) =>
    res.writeHead(200, { "content-type": "text/html" }).end(`<a href="/x">x</a>`),
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const port = (server.address() as AddressInfo).port;
  const agent = new Agent({ connections: 8 });
  // Never used: every lease here opts in to loopback, which goes through `open`.
  const guarded = new Agent();
  const signer = createRequestSigner(
    generateSigningKey().key,
    "https://heed.example/.well-known/http-message-signatures-directory",
  );
  const lease = (signRequests: boolean, i: number): proto.Lease =>
    proto.Lease.fromPartial({
      id: `l${i}`,
      crawlId: "bench",
      url: `http://127.0.0.1:${port}/page/${i}`,
      kind: proto.LeaseKind.LEASE_KIND_PAGE,
      expiresAtMs: Date.now() + 60_000,
      limits: { timeoutMs: 10_000, maxBytes: 1 << 20, maxRedirects: 0, maxOutlinks: 100 },
      userAgent: "HeedBench/0.1 (+mailto:bench@example.org)",
      allowPrivateAddresses: true,
      signRequests,
      dedupPayloads: false,
    });
  const deps = { guarded, open: agent, allowPrivateAddresses: true, signer };
  // Signed and unsigned requests alternate one by one, so a change in machine load hits both alike.
  const totals = { signed: 0, unsigned: 0 };
  const one = async (signed: boolean, i: number): Promise<void> => {
    const t0 = performance.now();
    const r = await fetchLease(lease(signed, i), deps);
    totals[signed ? "signed" : "unsigned"] += performance.now() - t0;
    if (r.error !== undefined || r.statusCode !== 200)
      throw new Error(`bench fetch failed: ${r.error?.code}`);
  };
  try {
    for (let i = 0; i < 100; i++) await one(i % 2 === 0, i); // warm-up
    totals.signed = 0;
    totals.unsigned = 0;
    for (let r = 0; r < options.rounds; r++) {
      for (let i = 0; i < options.requests; i++) {
        // Which goes first alternates too.
        await one((i + r) % 2 === 0, i);
        await one((i + r) % 2 !== 0, i);
      }
    }
    const unsigned = totals.unsigned;
    const signed = totals.signed;
    const n = options.requests * options.rounds;
    const url = new URL(`http://127.0.0.1:${port}/page/1`);
    const t0 = performance.now();
    for (let i = 0; i < n; i++) signer.sign("GET", url);
    const signOnlyMicros = ((performance.now() - t0) * 1000) / n;
    return {
      requests: n,
      unsignedMsPerRequest: unsigned / n,
      signedMsPerRequest: signed / n,
      ratio: signed / unsigned,
      signOnlyMicros,
    };
  } finally {
    await Promise.all([agent.close(), guarded.close()]);
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
