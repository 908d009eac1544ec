import { type ChannelCredentials, credentials, ServerCredentials } from "@grpc/grpc-js";
import { ConfigError } from "./errors.js";
import { readFileSetting } from "./secrets.js";

/**
 * The gRPC server's credentials: plaintext, TLS (certificate and key), or mTLS
 * when a client CA is given (every client must present a certificate it signed).
 */
export function grpcServerCredentials(files: {
  grpcCertFile: string;
  grpcKeyFile: string;
  grpcCaFile: string;
}): { credentials: ServerCredentials; tls: boolean; mtls: boolean } {
  const cert = readFileSetting(files.grpcCertFile, "grpcCertFile");
  const key = readFileSetting(files.grpcKeyFile, "grpcKeyFile");
  const ca = readFileSetting(files.grpcCaFile, "grpcCaFile");
  if ((cert === undefined) !== (key === undefined))
    throw cert === undefined
      ? new ConfigError("grpcCertFile", "needed with grpcKeyFile")
      : new ConfigError("grpcKeyFile", "needed with grpcCertFile");
  if (cert === undefined || key === undefined) {
    if (ca !== undefined)
      throw new ConfigError("grpcCaFile", "client certificates need TLS: set grpcCertFile and grpcKeyFile");
    return { credentials: ServerCredentials.createInsecure(), tls: false, mtls: false };
  }
  return {
    credentials: ServerCredentials.createSsl(
      ca ?? null,
      [{ cert_chain: cert, private_key: key }],
      ca !== undefined,
    ),
    tls: true,
    mtls: ca !== undefined,
  };
}

/**
 * A gRPC client's channel credentials: plaintext unless `tls` is set or a CA
 * is given (then the server's certificate must chain to that CA, or to the
 * system's when none is given); a client certificate for mTLS servers.
 */
export function grpcClientCredentials(settings: {
  grpcTls: boolean;
  grpcCaFile: string;
  grpcCertFile: string;
  grpcKeyFile: string;
}): ChannelCredentials {
  const ca = readFileSetting(settings.grpcCaFile, "grpcCaFile");
  const cert = readFileSetting(settings.grpcCertFile, "grpcCertFile");
  const key = readFileSetting(settings.grpcKeyFile, "grpcKeyFile");
  if ((cert === undefined) !== (key === undefined))
    throw cert === undefined
      ? new ConfigError("grpcCertFile", "needed with grpcKeyFile")
      : new ConfigError("grpcKeyFile", "needed with grpcCertFile");
  if (!settings.grpcTls && ca === undefined && cert === undefined) return credentials.createInsecure();
  return credentials.createSsl(ca ?? null, key ?? null, cert ?? null);
}

/** The `authorization` metadata value for a bearer token. */
export function bearer(token: string): string {
  return `Bearer ${token}`;
}
