// The soak: a steady mix of requests against the playground under `wrangler dev`, counting errors
// and watching the memory of the workerd process that runs the Worker.
import { readdirSync, readFileSync } from "node:fs";
import { loadMix, type LoadRequest } from "./lib.js";

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
  const workerd = wranglerPid === undefined ? null : findWorkerd(wranglerPid);
  const memoryStart = workerd === null ? null : rss(workerd);
  const memorySamples: number[] = [];
  const sampler = setInterval(
    () => {
      const now = workerd === null ? null : rss(workerd);
      if (now !== null) memorySamples.push(now);
    },
    (seconds * 1000) / 6,
  );
  const run = await loadMix(url, requests, { connections, seconds, rate });
  clearInterval(sampler);
  const memoryEnd = workerd === null ? null : rss(workerd);
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

/** The workerd process below `ancestor`, found through /proc. */
function findWorkerd(ancestor: number): number | null {
  const parents = new Map<number, number>();
  const names = new Map<number, string>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      parents.set(Number(entry), ppid);
      names.set(Number(entry), name);
    } catch {
      continue;
    }
  }
  for (const [pid, name] of names) {
    if (!name.startsWith("workerd")) continue;
    for (let p = parents.get(pid); p !== undefined && p > 1; p = parents.get(p)) {
      if (p === ancestor) return pid;
    }
  }
  return null;
}

function rss(pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = /VmRSS:\s+(\d+)/.exec(status)?.[1];
    return kb === undefined ? null : Number(kb) * 1024;
  } catch {
    return null;
  }
}
