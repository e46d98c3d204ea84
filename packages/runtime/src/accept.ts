// Accept negotiation (RFC 9110 §12.5.1) between a file and the files beside it with its content in
// other types: `photo.avif` and `photo.webp` beside `photo.jpg`, `index.md` beside `index.html`.

import { keptParses } from "./bounded.js";
import { weightOf } from "./encoding.js";

/** One member of an Accept header: a media range and its q-value. */
export interface MediaRange {
  type: string;
  subtype: string;
  q: number;
}

/**
 * The index in `types` of the type to send for an Accept value; 0, the file asked for, when there
 * is no Accept or none of the types is acceptable (the file is sent rather than a 406).
 *
 * The highest q-value wins, each type weighed by the most specific range that matches it. Among
 * types of equal weight, one the client names exactly beats one it reaches through a wildcard;
 * when both are named, the alternates (in the order given, the sync's preference) beat the file
 * itself, since a client naming `image/avif` or `text/markdown` asks for it; when both come
 * through a wildcard (`*\/*` from curl), the file itself is sent.
 */
export function negotiateType(accept: string | null | undefined, types: readonly string[]): number {
  if (!accept || types.length < 2) return 0;
  const ranges = rangesOf(accept);
  let best = 0;
  let bestRank = rank(qualityOf(types[0] as string, ranges), true);
  for (let i = 1; i < types.length; i++) {
    const candidate = rank(qualityOf(types[i] as string, ranges), false);
    if (candidate > bestRank) {
      best = i;
      bestRank = candidate;
    }
  }
  return bestRank > 0 ? best : 0;
}

/** Parses Accept into media ranges; media type parameters other than q are not compared. */
export function parseAccept(accept: string): MediaRange[] {
  const ranges: MediaRange[] = [];
  for (const member of accept.split(",")) {
    const [name, ...params] = member.split(";");
    const [type, subtype, extra] = (name ?? "").trim().toLowerCase().split("/");
    if (!type || !subtype || extra !== undefined || (type === "*" && subtype !== "*")) continue;
    const q = weightOf(params);
    if (!Number.isNaN(q)) ranges.push({ type, subtype, q });
  }
  return ranges;
}

/** The q-value of `contentType` and how specific (2 exact, 1 `type/*`, 0 `*\/*`) its range was. */
export function qualityOf(
  contentType: string,
  ranges: readonly MediaRange[],
): { q: number; specificity: number } {
  const [type = "", subtype = ""] = (contentType.split(";")[0] ?? "")
    .trim()
    .toLowerCase()
    .split("/");
  let q = 0;
  let specificity = -1;
  for (const range of ranges) {
    const s =
      range.type === type && range.subtype === subtype
        ? 2
        : range.type === type && range.subtype === "*"
          ? 1
          : range.type === "*"
            ? 0
            : -1;
    // §12.5.1: the most specific reference wins; among equally specific ones, the highest q.
    if (s > specificity || (s === specificity && range.q > q)) {
      specificity = s;
      q = range.q;
    }
  }
  return { q, specificity };
}

// One number ordering candidates: q first, then exactly named over wildcards, then (when named)
// alternates over the file itself, or (through a wildcard) the file itself over alternates.
function rank({ q, specificity }: { q: number; specificity: number }, original: boolean): number {
  if (q <= 0) return 0;
  const named = specificity === 2;
  return Math.round(q * 1000) * 100 + specificity * 10 + (named !== original ? 1 : 0);
}

// Clients send a handful of distinct Accept values; their parses are kept (up to 64 values of up
// to 512 characters).
const rangesOf = keptParses(parseAccept, 64, 512);
