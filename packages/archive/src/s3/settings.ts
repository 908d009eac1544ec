import { type CaptureStorageSettings, ConfigError, readSecret } from "@heed/shared";
import type { S3Settings } from "./client.js";

/**
 * S3 settings from a worker's config, or undefined when no bucket is set.
 * Keys come from the files the config names or from the standard AWS
 * environment variables; a bucket without credentials is refused at start.
 */
export function s3SettingsFrom(
  config: CaptureStorageSettings,
  env: NodeJS.ProcessEnv = process.env,
): S3Settings | undefined {
  if (config.s3Bucket === "") return undefined;
  const accessKeyId = readSecret(config.s3AccessKeyFile, "s3AccessKeyFile", "AWS_ACCESS_KEY_ID", env);
  const secretAccessKey = readSecret(config.s3SecretKeyFile, "s3SecretKeyFile", "AWS_SECRET_ACCESS_KEY", env);
  if (accessKeyId === undefined) {
    throw new ConfigError(
      "s3AccessKeyFile",
      "s3Bucket is set but no access key (s3AccessKeyFile or AWS_ACCESS_KEY_ID)",
    );
  }
  if (secretAccessKey === undefined) {
    throw new ConfigError(
      "s3SecretKeyFile",
      "s3Bucket is set but no secret key (s3SecretKeyFile or AWS_SECRET_ACCESS_KEY)",
    );
  }
  const sessionToken = env.AWS_SESSION_TOKEN;
  return {
    endpoint: config.s3Endpoint !== "" ? config.s3Endpoint : `https://s3.${config.s3Region}.amazonaws.com`,
    region: config.s3Region,
    bucket: config.s3Bucket,
    prefix: config.s3Prefix,
    accessKeyId,
    secretAccessKey,
    ...(sessionToken ? { sessionToken } : {}),
    timeoutMs: config.s3TimeoutMs,
  };
}
