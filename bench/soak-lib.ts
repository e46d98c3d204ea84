// The soak: a steady mix of requests against the playground under `wrangler dev`, counting errors
// and watching the memory of the workerd process that runs the Worker.
import { loadMix, residentBytes, workerdBelow, type LoadRequest } from "./lib.js";

/** What a soak measured. */
export interface SoakReport {
  seconds: number;
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  failures: Map<string, number>;
  /** Resident memory of workerd (bytes) after the warm-up and at the end; null when not found. */
  memoryStart: number | null;
  memoryEnd: number | null;
  /** Resident memory of workerd sampled at equal steps through the run. */
  memorySamples: number[];
}

/**
 * Sends the playground's mix of requests (pages, fingerprinted assets in br and gzip, 304s, ranges
 * across the large file's stored parts, HEAD, redirects, misses) at `rate` per second for `seconds`.
 */
export async function soak(
  url: string,
  {
    seconds,
    rate = 200,
    connections = 8,
    wranglerPid,
  }: { seconds: number; rate?: number; connections?: number; wranglerPid?: number },
): Promise<SoakReport> {
  const requests = await playgroundRequests(url);
  await loadMix(url, requests, { connections, seconds: Math.min(3, seconds / 4), rate }); // warm-up
  const workerd = wranglerPid === undefined ? null : (workerdBelow(wranglerPid)[0] ?? null);
  const memoryStart = workerd === null ? null : residentBytes(workerd);
  const memorySamples: number[] = [];
  const sampler = setInterval(
    () => {
      const now = workerd === null ? null : residentBytes(workerd);
      if (now !== null) memorySamples.push(now);
    },
    (seconds * 1000) / 6,
  );
  const run = await loadMix(url, requests, { connections, seconds, rate });
  clearInterval(sampler);
  const memoryEnd = workerd === null ? null : residentBytes(workerd);
  return { seconds, ...run, memoryStart, memoryEnd, memorySamples };
}

/** The mix, with the fingerprinted asset names and the home page's ETag read from the site. */
async function playgroundRequests(url: string): Promise<LoadRequest[]> {
  const home = await fetch(new URL("/", url), { headers: { "Accept-Encoding": "identity" } });
  const html = await home.text();
  const etag = home.headers.get("ETag") ?? '"none"';
  const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1] as string);
  const script = assets.find((a) => a.endsWith(".js")) ?? "/";
  const style = assets.find((a) => a.endsWith(".css")) ?? "/";
  const partLimit = 25 * 1024 * 1024;
  return [
    { path: "/" },
    { path: "/about/" },
    { path: "/about", expect: 307 },
    { path: script, headers: { "Accept-Encoding": "br" } },
    { path: style, headers: { "Accept-Encoding": "gzip" } },
    { path: "/", headers: { "If-None-Match": etag, "Accept-Encoding": "identity" }, expect: 304 },
    { path: "/large.bin", headers: { Range: "bytes=0-1023" }, expect: 206 },
    {
      path: "/large.bin",
      headers: { Range: `bytes=${partLimit - 512}-${partLimit + 511}` },
      expect: 206,
    },
    { method: "HEAD", path: "/large.bin" },
    { path: "/robots.txt" },
    { path: "/data.json", headers: { "Accept-Encoding": "gzip, br" } },
    { path: "/files/read%20me.txt" },
    { path: "/no-such-page", expect: 404 },
    { path: "/api/hello" },
  ];
}
