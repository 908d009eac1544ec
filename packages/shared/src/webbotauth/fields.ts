/** The few RFC 9651 structured-field serialisations a signer needs; parsing is left to `structured-headers`. */

/** An sf-string: printable ASCII, with `"` and `\` escaped. */
export function sfString(value: string): string {
  if (!/^[\x20-\x7e]*$/.test(value)) throw new Error("a structured-field string takes printable ASCII only");
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** An sf-binary (byte sequence): base64 between colons. */
export function sfBinary(bytes: Uint8Array): string {
  return `:${Buffer.from(bytes).toString("base64")}:`;
}

/** Signature parameters (RFC 9421 §2.3) in the order given; strings quoted, integers bare. */
export function sfParams(params: [string, string | number][]): string {
  return params
    .map(([k, v]) => `;${k}=${typeof v === "number" ? String(Math.trunc(v)) : sfString(v)}`)
    .join("");
}
