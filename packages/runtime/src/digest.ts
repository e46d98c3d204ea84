// Integrity fields (RFC 9530): Repr-Digest from the digests the sync recorded, and Content-Digest
// of a range, each sent as the request's Want-Repr-Digest and Want-Content-Digest allow.

/**
 * Whether a `Want-*-Digest` value lets the server send sha-256: no field at all (a server may
 * send unrequested digests, §4), or one that gives sha-256 a weight above 0. Its value is a
 * Structured Fields dictionary of algorithm to an integer weight from 0 to 10 (§4).
 */
export function wantsSha256(want: string | null): boolean {
  if (want === null) return true;
  for (const member of want.split(",")) {
    const [key, value] = member.split("=").map((s) => s.trim());
    if (key?.toLowerCase() === "sha-256")
      return value !== undefined && /^(?:[1-9]|10)$/.test(value);
  }
  return false;
}

/** Whether a `Want-*-Digest` field was sent and names sha-256 with a weight above 0. */
export function asksSha256(want: string | null): boolean {
  return want !== null && wantsSha256(want);
}

/** A digest field's value for a sha-256 in base64: `sha-256=:…:` (a byte sequence, RFC 8941). */
export function digestField(base64: string): string {
  return `sha-256=:${base64}:`;
}

/** The sha-256 of `bytes` in base64. */
export async function sha256Base64(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  let binary = "";
  for (const byte of digest) binary += String.fromCharCode(byte);
  return btoa(binary);
}
