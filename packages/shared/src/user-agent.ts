/** RFC 9309 product tokens: letters, `_` and `-` only. */
export const PRODUCT_TOKEN = /^[A-Za-z_-]+$/;
const EMAIL = /^[^\s@<>()]+@[^\s@<>()]+\.[^\s@<>()]+$/;

export interface UserAgentSpec {
  product: string;
  version: string;
  contact: string;
}

/** Site owners must be able to reach the operator: an e-mail address or an http(s) URL. */
export function isContact(contact: string): boolean {
  return EMAIL.test(contact) || /^https?:\/\/\S+$/.test(contact);
}

/** The honest identity sent with every request: product, version and how to reach the operator. */
export function userAgentHeader(ua: UserAgentSpec): string {
  const contact = EMAIL.test(ua.contact) ? `mailto:${ua.contact}` : ua.contact;
  return `${ua.product}/${ua.version} (+${contact})`;
}

/** The `From` header (RFC 9110) takes an e-mail address only. */
export function fromHeader(ua: UserAgentSpec): string {
  return EMAIL.test(ua.contact) ? ua.contact : "";
}
