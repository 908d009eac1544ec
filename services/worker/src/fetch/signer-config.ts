import {
  ConfigError,
  createRequestSigner,
  loadSigningKey,
  type RequestSigner,
  type WorkerConfig,
} from "@heed/shared";

/**
 * The worker's Web Bot Auth signer, read once at start: the key from
 * signingKeyFile or HEED_SIGNING_KEY (a Kubernetes Secret as an environment
 * variable), the directory URL from signatureAgent. Either without the other
 * is refused, so a misconfigured worker fails at start, not on its first signed lease.
 */
export function requestSignerFromConfig(
  config: Pick<WorkerConfig, "signingKeyFile" | "signatureAgent">,
  env: NodeJS.ProcessEnv = process.env,
): RequestSigner | undefined {
  const key = loadSigningKey(config.signingKeyFile, "signingKeyFile", "HEED_SIGNING_KEY", env);
  if (key === undefined && config.signatureAgent === "") return undefined;
  if (key === undefined) {
    throw new ConfigError("signingKeyFile", "signatureAgent is set but there is no key to sign with");
  }
  if (config.signatureAgent === "") {
    throw new ConfigError("signatureAgent", "a signing key is set but not the URL of its key directory");
  }
  return createRequestSigner(key, config.signatureAgent);
}
