export { AGENT_CARD_PATH, type SignatureAgentCard, signatureAgentCard } from "./card.js";
export {
  DIRECTORY_MAX_AGE_S,
  DIRECTORY_MEDIA_TYPE,
  DIRECTORY_PATH,
  DIRECTORY_TAG,
  type DirectoryResponse,
  directoryJson,
  signedDirectory,
} from "./directory.js";
export {
  type Ed25519PublicJwk,
  generateSigningKey,
  jwkThumbprint,
  loadSigningKey,
  loadSigningKeys,
  type SigningKey,
  signingKeyFromPem,
} from "./keys.js";
export {
  createRequestSigner,
  type RequestSigner,
  SIGNATURE_LABEL,
  SIGNATURE_VALIDITY_S,
  type SignedHeaders,
  WEB_BOT_AUTH_TAG,
} from "./sign.js";
