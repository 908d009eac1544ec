import {
  AGENT_CARD_PATH,
  type CoordinatorConfig,
  type CrawlSpec,
  DIRECTORY_PATH,
  loadSigningKeys,
  type ProbeRouteAnswer,
  signatureAgentCard,
  signedDirectory,
} from "@heed/shared";

/**
 * What the coordinator's HTTP listener serves so site owners can check Heed's
 * signatures: the Web Bot Auth key directory (signed afresh for the authority
 * asked, so a copy re-served elsewhere does not verify) and the Signature Agent
 * Card describing the crawls that sign. Keys are read once, at start.
 */
export function identityRoutes(
  config: Pick<CoordinatorConfig, "signatureAgent" | "directoryKeyFiles">,
  signingCrawls: () => CrawlSpec[],
): (path: string, host: string) => ProbeRouteAnswer | undefined {
  const keys = loadSigningKeys(config.directoryKeyFiles, "directoryKeyFiles");
  return (path, host) => {
    if (path === DIRECTORY_PATH && keys.length > 0) {
      const { body, headers } = signedDirectory(keys, host);
      const { "content-type": contentType = "", ...rest } = headers;
      return { contentType, body, headers: rest };
    }
    if (path === AGENT_CARD_PATH && config.signatureAgent !== "") {
      const card = signatureAgentCard(config.signatureAgent, signingCrawls());
      return { contentType: "application/json", body: `${JSON.stringify(card, null, 2)}\n` };
    }
    return undefined;
  };
}
