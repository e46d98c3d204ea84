// Accept-Encoding negotiation (RFC 9110 §12.5.3) over the precompressed variants a file has.

import { keptParses } from "./bounded.js";
import type { ContentEncoding } from "./manifest.js";

/**
 * Picks the variant to send for an Accept-Encoding value, or `null` for the identity body.
 * Honours q-values (`q=0` forbids), `*` for codings not listed, and `x-gzip` as gzip.
 * Among equally preferred codings the first of `available` wins (the sync engine lists br first,
 * as it is the smaller). No header means the client takes anything, but identity is the safe pick.
 */
export function negotiateEncoding(
  accept: string | null | undefined,
  available: readonly ContentEncoding[],
): ContentEncoding | null {
  if (!accept || available.length === 0) return null;
  const weights = weightsOf(accept);
  const wildcard = weights.get("*");
  let best: ContentEncoding | null = null;
  let bestQ = 0;
  for (const encoding of available) {
    const q = weights.get(encoding) ?? wildcard ?? 0;
    if (q > bestQ) {
      best = encoding;
      bestQ = q;
    }
  }
  if (best === null) return null;
  // Send identity only when the client names it and prefers it to every variant it accepts.
  const identity = weights.get("identity") ?? 0;
  return identity > bestQ ? null : best;
}

/** Parses Accept-Encoding into lower-case coding → q-value (0 to 1). Malformed members are skipped. */
export function parseAcceptEncoding(accept: string): Map<string, number> {
  const weights = new Map<string, number>();
  for (const member of accept.split(",")) {
    const [name, ...params] = member.split(";");
    let coding = (name ?? "").trim().toLowerCase();
    if (coding === "") continue;
    if (coding === "x-gzip") coding = "gzip";
    const q = weightOf(params);
    if (Number.isNaN(q)) continue;
    weights.set(coding, Math.max(weights.get(coding) ?? 0, q));
  }
  return weights;
}

/**
 * The q-value among a member's parameters (1 without one), or NaN when it is malformed.
 * §12.4.2: qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
 */
export function weightOf(params: readonly string[]): number {
  let q = 1;
  for (const param of params) {
    const [key, value] = param.split("=").map((s) => s.trim());
    if (key?.toLowerCase() === "q") {
      q =
        value !== undefined && /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/.test(value)
          ? Number(value)
          : NaN;
    }
  }
  return q;
}

// Clients send a handful of distinct Accept-Encoding values, so their parses are kept (up to 64
// values of up to 256 characters).
const weightsOf = keptParses(parseAcceptEncoding, 64, 256);
