// Runs s3rver (@20minutes/s3rver: an S3 emulator that checks SigV4 signatures) as its own
// process: node s3rver-main.mjs <dir> <port> [bucket...]. Prints "listening <port>".
import S3rver from "@20minutes/s3rver";

const [dir, port, ...buckets] = process.argv.slice(2);
const server = new S3rver({
  address: "127.0.0.1",
  port: Number(port),
  directory: dir,
  silent: true,
  vhostBuckets: false,
  configureBuckets: buckets.map((name) => ({ name })),
});
const address = await server.run();
process.stdout.write(`listening 127.0.0.1:${address.port}\n`);
const stop = () => server.close().then(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
