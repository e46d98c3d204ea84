// Range requests (RFC 9110 §14): parsing `Range` and evaluating `If-Range`.

import { matchesEntityTag, parseHttpDate, type Validators } from "./conditional.js";

/** An inclusive byte range within a representation. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * The outcome of a Range header against a representation of `size` bytes:
 * `null` means ignore it and send the whole body (absent, malformed, another unit, or too many
 * ranges), `"unsatisfiable"` means 416, otherwise the ranges to send, sorted and with overlapping
 * or adjacent ones merged so a request can never ask for more bytes than the file has.
 */
export type RangeResult = ByteRange[] | "unsatisfiable" | null;

/** More ranges than this in one header are ignored: they only serve to make a server work harder. */
export const MAX_RANGES = 100;

/** Parses a Range header value (§14.2) for a representation of `size` bytes. */
export function parseRange(header: string | null, size: number): RangeResult {
  if (header === null) return null;
  const match = /^\s*bytes\s*=\s*(.*)$/i.exec(header);
  if (!match) return null;
  const specs = (match[1] as string).split(",");
  if (specs.length > MAX_RANGES) return null;

  const ranges: ByteRange[] = [];
  let any = false;
  for (const raw of specs) {
    const spec = raw.trim();
    if (spec === "") continue; // §5.6.1: empty list elements are allowed and ignored
    const parts = /^(\d*)-(\d*)$/.exec(spec);
    if (!parts || (parts[1] === "" && parts[2] === "")) return null;
    any = true;
    const first = parts[1] as string;
    const last = parts[2] as string;
    if (first === "") {
      // suffix-range: the last N bytes; N = 0 is unsatisfiable.
      const length = Number(last);
      if (length > 0 && size > 0) ranges.push({ start: Math.max(0, size - length), end: size - 1 });
      continue;
    }
    const start = Number(first);
    const end = last === "" ? Infinity : Number(last);
    if (end < start) return null; // §14.1.1: an invalid range-spec invalidates the whole field
    if (start < size) ranges.push({ start, end: Math.min(end, size - 1) });
  }
  if (!any) return null;
  if (ranges.length === 0) return "unsatisfiable";
  return coalesce(ranges);
}

/**
 * Whether an If-Range field (§13.1.5) lets the Range header apply: it must name the current
 * strong entity tag, or be exactly the Last-Modified date. Anything else means send the whole body.
 */
export function ifRangeAllows(ifRange: string | null, validators: Validators): boolean {
  if (ifRange === null) return true;
  const value = ifRange.trim();
  if (value.startsWith('"') || value.startsWith("W/")) {
    return matchesEntityTag(value, validators.etag, "strong");
  }
  const date = parseHttpDate(value);
  return date !== null && date === validators.lastModified;
}

/** Formats a Content-Range value for a satisfied range. */
export function contentRange(range: ByteRange, size: number): string {
  return `bytes ${range.start}-${range.end}/${size}`;
}

function coalesce(ranges: ByteRange[]): ByteRange[] {
  const sorted = [...ranges].sort((a, b) => a.start - b.start);
  const merged: ByteRange[] = [{ ...(sorted[0] as ByteRange) }];
  for (const range of sorted.slice(1)) {
    const previous = merged[merged.length - 1] as ByteRange;
    if (range.start <= previous.end + 1) previous.end = Math.max(previous.end, range.end);
    else merged.push({ ...range });
  }
  return merged;
}
