import { z } from "zod";

/** RFC 9309 product tokens: letters, `_` and `-` only. */
const PRODUCT_TOKEN = /^[A-Za-z_-]+$/;
const EMAIL = /^[^\s@<>()]+@[^\s@<>()]+\.[^\s@<>()]+$/;

export const userAgentSchema = z.object({
  product: z.string().regex(PRODUCT_TOKEN, "a product token of letters, '_' and '-' (RFC 9309)"),
  version: z
    .string()
    .regex(/^[A-Za-z0-9._-]+$/, "letters, digits, '.', '_', '-'")
    .default("0.1"),
  contact: z
    .string()
    .refine(
      (c) => EMAIL.test(c) || /^https?:\/\/\S+$/.test(c),
      "an e-mail address or an http(s) URL where site owners can reach you",
    ),
});
export type UserAgentSpec = z.infer<typeof userAgentSchema>;

/** The honest identity sent with every request: product, version and how to reach the operator. */
export function userAgentHeader(ua: UserAgentSpec): string {
  const contact = EMAIL.test(ua.contact) ? `mailto:${ua.contact}` : ua.contact;
  return `${ua.product}/${ua.version} (+${contact})`;
}

/** The `From` header (RFC 9110) takes an e-mail address only. */
export function fromHeader(ua: UserAgentSpec): string {
  return EMAIL.test(ua.contact) ? ua.contact : "";
}
