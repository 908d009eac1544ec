import { createHash, randomBytes } from "node:crypto";
import { credentials, Server, ServerCredentials, type ServiceError } from "@grpc/grpc-js";
import { proto } from "@heed/shared";
import { open, type RootDatabase } from "lmdb";
import { connect } from "nats";
import { type BenchMessage, failStart, ready, serveParent } from "./child.js";

/**
 * The raw pipeline ceiling: the message flow of a lease and its report with
 * none of Heed's logic. The server answers a NATS request with a batch of
 * leases of the asked size and takes a gRPC Report of the batch, writing one
 * URL record and one lease record per result in one LMDB transaction. The
 * client asks for a batch, "fetches" it at once and reports it, in a loop.
 *
 * `durable HOSTS PAGES`: the least a frontier that loses no lease must write, still without
 * Heed's logic. The URL records of HOSTS x PAGES URLs exist before the run, keyed by their
 * URL's hash as a frontier must find them, and each lease batch is committed (a lease record and
 * its URL's record per lease) before it is sent, as a report's results are.
 *
 * Argv: `server NATS_URL DATA_DIR [durable HOSTS PAGES]` or `client NATS_URL GRPC_ADDRESS`.
 */
const SUBJECT = "bench.raw.lease";
const [role, natsUrl, third, mode, hostsArg, pagesArg] = process.argv.slice(2);

type Row = Record<string, unknown>;

/** Where a lease's URL record is written: the URL each lease gets, and the write of its record. */
interface UrlRecords {
  urlOf(n: number): string;
  write(leaseId: string, url: string, record: Row): void;
}

/** The bare flow's: a new URL per lease, its record appended under the lease id. */
function urlsByLease(root: RootDatabase): UrlRecords {
  const urls = root.openDB<Row, string>({ name: "urls", encoding: "msgpack", cache: false });
  return {
    urlOf: (n) => `http://h${n % 2000}.bench.invalid/p${n}`,
    write: (leaseId, _url, record) => urls.put(leaseId, record),
  };
}

/** The durable variant's: the crawl's URLs exist beforehand, keyed by URL hash, each updated where it lies. */
function urlsByHash(root: RootDatabase, hosts: number, pages: number): UrlRecords {
  const urls = root.openDB<Row, [string, string]>({ name: "urls", encoding: "msgpack", cache: false });
  const urlOf = (n: number) => `http://h${n % hosts}.bench.invalid/p${Math.floor(n / hosts) % pages}`;
  const keyOf = (url: string): [string, string] => [
    "c1",
    createHash("sha256").update(url).digest("hex").slice(0, 32),
  ];
  const now = Date.now();
  root.transactionSync(() => {
    for (let n = 0; n < hosts * pages; n++) {
      const url = urlOf(n);
      urls.put(keyOf(url), { url, crawlId: "c1", state: "queued", attempts: 0, discoveredAtMs: now });
    }
  });
  return {
    urlOf,
    write(_leaseId, url, record) {
      const key = keyOf(url);
      urls.put(key, { ...(urls.get(key) ?? { url, crawlId: "c1" }), ...record });
    },
  };
}

async function server(dataDir: string): Promise<void> {
  const root = open({ path: `${dataDir}/raw.lmdb`, maxDbs: 16, mapSize: 2 ** 34 });
  const durable = mode === "durable";
  const urls = durable ? urlsByHash(root, Number(hostsArg), Number(pagesArg)) : urlsByLease(root);
  const leases = root.openDB<Row, string>({ name: "leases", encoding: "msgpack", cache: false });
  const nc = await connect({ servers: natsUrl });
  const prefix = randomBytes(8).toString("hex");
  let serial = 0;
  const sub = nc.subscribe(SUBJECT, {
    queue: "raw",
    callback: (_e, msg) => {
      const req = proto.LeaseRequest.decode(msg.data);
      const now = Date.now();
      const batch: proto.Lease[] = [];
      for (let i = 0; i < req.capacity; i++) {
        const n = serial++;
        const url = urls.urlOf(n);
        batch.push({
          id: `${prefix}${n.toString(36)}`,
          crawlId: "c1",
          url,
          hostKey: url.slice("http://".length, url.indexOf("/", "http://".length)),
          kind: proto.LeaseKind.LEASE_KIND_PAGE,
          issuedAtMs: now,
          notBeforeMs: now,
          expiresAtMs: now + 60_000,
          attempt: 1,
          limits: { timeoutMs: 30_000, maxBytes: 10 * 2 ** 20, maxRedirects: 5, maxOutlinks: 1000 },
          userAgent: "HeedBench/0.1 (+mailto:bench@example.org)",
          from: "bench@example.org",
          allowPrivateAddresses: false,
          signRequests: false,
          purposes: ["archive"],
          dedupPayloads: false,
          startAfterMs: 0,
        });
      }
      if (durable)
        root.transactionSync(() => {
          for (const l of batch) {
            leases.put(l.id, { id: l.id, crawlId: l.crawlId, url: l.url, state: "active", issuedAtMs: now });
            urls.write(l.id, l.url, { state: "leased", leaseId: l.id, attempts: 1, updatedAtMs: now });
          }
        });
      msg.respond(proto.LeaseBatch.encode({ leases: batch, retryAfterMs: 0, waited: false }).finish());
    },
  });
  const grpc = new Server();
  grpc.addService(proto.FrontierServiceService, {
    report: (call, callback) => {
      const now = Date.now();
      const acks = root.transactionSync(() =>
        call.request.results.map((r) => {
          urls.write(r.leaseId, r.finalUrl, {
            url: r.finalUrl,
            crawlId: "c1",
            state: "done",
            attempts: 1,
            updatedAtMs: now,
            leaseId: r.leaseId,
            result: {
              status: r.statusCode,
              contentType: r.contentType,
              bytes: r.bodyBytes,
              digest: r.digestSha256,
            },
          });
          leases.put(r.leaseId, { id: r.leaseId, crawlId: "c1", state: "reported", endedAtMs: now });
          return { leaseId: r.leaseId, outcome: proto.ReportOutcome.REPORT_OUTCOME_ACCEPTED, reason: "" };
        }),
      );
      callback(null, { acks });
    },
    renew: (_call, callback) => callback(null, proto.RenewResponse.fromPartial({})),
  } as proto.FrontierServiceServer);
  const port = await new Promise<number>((resolve, reject) =>
    grpc.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  serveParent({}, async () => {
    sub.unsubscribe();
    await nc.close();
    grpc.forceShutdown();
    await root.close();
  });
  ready({ grpcPort: port });
}

async function client(address: string): Promise<void> {
  const nc = await connect({ servers: natsUrl });
  const frontier = new proto.FrontierServiceClient(address, credentials.createInsecure());
  const report = (req: proto.ReportRequest) =>
    new Promise<proto.ReportResponse>((resolve, reject) =>
      frontier.report(req, (e: ServiceError | null, res: proto.ReportResponse) =>
        e ? reject(e) : resolve(res),
      ),
    );
  serveParent(
    {
      run: async (msg: BenchMessage) => {
        const total = Number(msg.leases);
        const batchSize = Number(msg.batch);
        let got = 0;
        while (got < total) {
          const request = proto.LeaseRequest.encode({
            workerId: "raw",
            capacity: Math.min(batchSize, total - got),
            workerVersion: "raw",
            sentAtMs: Date.now(),
            requestId: "",
            waitMs: 0,
          }).finish();
          const reply = proto.LeaseBatch.decode(
            (await nc.request(SUBJECT, request, { timeout: 10_000 })).data,
          );
          const now = Date.now();
          const results = reply.leases.map((l) =>
            proto.FetchResult.fromPartial({
              leaseId: l.id,
              startedAtMs: now,
              finishedAtMs: now,
              statusCode: 200,
              contentType: "text/html",
              bodyBytes: 1000,
              digestSha256: "0".repeat(64),
              outlinks: ["http://elsewhere.bench.invalid/never"],
              finalUrl: l.url,
            }),
          );
          await report({ workerId: "raw", results });
          got += reply.leases.length;
        }
        return { type: "ran", leases: got };
      },
    },
    async () => {
      frontier.close();
      await nc.close();
    },
  );
  ready();
}

try {
  if (role === "server") await server(third as string);
  else await client(third as string);
} catch (e) {
  failStart(e);
}
