// Shared pieces of the benchmarks: the smoke switch, generated sites and markdown tables.
import { readdirSync, readFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { connect } from "node:net";

/** `--smoke`: a tiny run that only proves the benchmark still works (npm test runs it). */
export const smoke = process.argv.includes("--smoke");

/** A file of a generated site: its URL path and size in bytes. */
export interface GeneratedFile {
  path: string;
  size: number;
}

/**
 * A site of `count` files with a realistic mix: mostly small pages, scripts and styles, some
 * images, and one file in a thousand over 1 MiB. The same `count` always gives the same site.
 */
export function generateSite(count: number): GeneratedFile[] {
  const random = seeded(count);
  const files: GeneratedFile[] = [];
  const kinds = [
    { share: 0.45, dir: "docs", ext: "html", min: 800, max: 12_000 },
    { share: 0.2, dir: "assets", ext: "js", min: 400, max: 30_000 },
    { share: 0.1, dir: "assets", ext: "css", min: 300, max: 8_000 },
    { share: 0.2, dir: "images", ext: "png", min: 2_000, max: 120_000 },
    { share: 0.05, dir: "data", ext: "json", min: 200, max: 4_000 },
  ];
  for (let i = 0; i < count; i++) {
    if (i % 1000 === 999) {
      files.push({
        path: `/media/video-${i}.mp4`,
        size: 1024 * 1024 + Math.floor(random() * 512 * 1024),
      });
      continue;
    }
    let pick = random();
    const kind = kinds.find((k) => (pick -= k.share) < 0) ?? kinds[0]!;
    const size = Math.floor(kind.min + (kind.max - kind.min) * random() ** 2);
    const section = `s${i % 97}`;
    const name =
      kind.dir === "assets"
        ? `chunk-${i}-${Math.floor(random() * 1e8)
            .toString(36)
            .padStart(6, "x")}`
        : `page-${i}`;
    files.push({ path: `/${kind.dir}/${section}/${name}.${kind.ext}`, size });
  }
  return files;
}

/** Bytes of a generated file: deterministic, and compressible the way text is. */
export function contentOf(file: GeneratedFile, version = 0): Uint8Array {
  const bytes = new Uint8Array(file.size);
  const seed = `${file.path}#${version} `;
  for (let i = 0; i < bytes.length; i++) {
    bytes[i] = i % 61 < seed.length ? seed.charCodeAt(i % 61) : 97 + ((i * 7 + seed.length) % 26);
  }
  return bytes;
}

/** A markdown table. */
export function table(head: string[], rows: (string | number)[][]): string {
  const cells = [head, ...rows.map((r) => r.map(String))];
  const widths = head.map((_, c) => Math.max(...cells.map((r) => (r[c] ?? "").length)));
  const line = (r: string[]): string =>
    `| ${r.map((cell, c) => cell.padEnd(widths[c] as number)).join(" | ")} |`;
  return [line(head), line(widths.map((w) => "-".repeat(w))), ...cells.slice(1).map(line)].join(
    "\n",
  );
}

/** A one-line description of this machine, for RESULTS.md. */
export function machine(): string {
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  return `${cpus().length} × ${cpu.trim()}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
}

export function ratio(a: number, b: number): string {
  return b === 0 ? "n/a" : `${(a / b).toFixed(2)}×`;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

function seeded(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

/** What a load run measured. */
export interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  /** CPU time of the serving process per request, in µs, when its process id was given. */
  cpu?: number;
}

/** One request of a load run, and the status its answer must have. */
export interface LoadRequest {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  /** @default 200 */
  expect?: number;
}

/**
 * Sends the same request over `connections` keep-alive HTTP/1.1 connections for `seconds`, each
 * sending the next request once the previous answer is fully read, after an uncounted warm-up of
 * a quarter of that time. A small client of its own on raw sockets: it frames HEAD, 304 and
 * chunked answers correctly without reconnecting, and costs little CPU beside the server.
 */
export async function load(
  url: string,
  {
    method = "GET",
    headers = {},
    connections = 8,
    seconds = 5,
    expect = 200,
    pid,
  }: {
    method?: string;
    headers?: Record<string, string>;
    connections?: number;
    seconds?: number;
    /** The status every answer must have; any other counts as an error. */
    expect?: number;
    /** The serving process, whose CPU time per request is measured. */
    pid?: number | null;
  },
): Promise<LoadResult> {
  const target = new URL(url);
  const request = { method, path: target.pathname + target.search, headers, expect };
  await loadMix(target.origin, [request], { connections, seconds: seconds / 4 }); // warm-up
  const cpuBefore = cpuNanos(pid);
  const result = await loadMix(target.origin, [request], { connections, seconds });
  const cpuAfter = cpuNanos(pid);
  if (cpuBefore === null || cpuAfter === null) return result;
  return { ...result, cpu: (cpuAfter - cpuBefore) / 1000 / result.requests };
}

/**
 * Sends `requests` in turn over `connections` keep-alive connections for `seconds`. With `rate`,
 * requests leave at that steady total rate (per second) instead of as fast as answers come.
 * Counts as an error any answer with another status than expected, and any failed connection.
 */
export async function loadMix(
  origin: string,
  requests: LoadRequest[],
  { connections = 8, seconds = 5, rate }: { connections?: number; seconds?: number; rate?: number },
): Promise<LoadResult & { requests: number; failures: Map<string, number> }> {
  const target = new URL(origin);
  const prepared = requests.map((r): Prepared => {
    const method = r.method ?? "GET";
    const head =
      `${method} ${r.path} HTTP/1.1\r\nHost: ${target.host}\r\n` +
      Object.entries(r.headers ?? {})
        .map(([name, value]) => `${name}: ${value}\r\n`)
        .join("") +
      "\r\n";
    return {
      bytes: Buffer.from(head),
      head: method === "HEAD",
      expect: r.expect ?? 200,
      label: `${method} ${r.path}`,
    };
  });
  const sockets = await Promise.all(
    Array.from({ length: connections }, () => openConnection(target)),
  );
  const interval = rate ? (1000 * connections) / rate : 0;
  const latencies: number[] = [];
  const failures = new Map<string, number>();
  const started = performance.now();
  const end = started + seconds * 1000;
  await Promise.all(
    sockets.map(async (socket, c) => {
      let next = started + (interval * c) / connections;
      for (let i = c; performance.now() < end; i++) {
        if (interval > 0) {
          const wait = next - performance.now();
          if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
          next += interval;
        }
        const request = prepared[i % prepared.length] as Prepared;
        const sent = performance.now();
        const status = await socket.exchange(request);
        latencies.push(performance.now() - sent);
        if (status !== request.expect) {
          const key = `${request.label} answered ${status ?? "nothing"} (expected ${request.expect})`;
          failures.set(key, (failures.get(key) ?? 0) + 1);
        }
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  for (const socket of sockets) socket.close();
  latencies.sort((a, b) => a - b);
  const at = (q: number): number =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  const errors = [...failures.values()].reduce((a, b) => a + b, 0);
  return {
    rps: latencies.length / elapsed,
    p50: at(0.5),
    p99: at(0.99),
    errors,
    requests: latencies.length,
    failures,
  };
}

interface Prepared {
  bytes: Buffer;
  head: boolean;
  expect: number;
  label: string;
}

interface Connection {
  /** Sends the request and resolves with the answer's status once it is fully read (null on failure). */
  exchange(request: Prepared): Promise<number | null>;
  close(): void;
}

async function openConnection(target: URL): Promise<Connection> {
  const socket = connect(Number(target.port), target.hostname);
  socket.setNoDelay(true);
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  let pending: Buffer = Buffer.alloc(0);
  let done: ((status: number | null) => void) | null = null;
  let head = false;
  // Parser state of the answer being read.
  let stage: "head" | "length" | "chunk-size" | "chunk-data" | "chunk-end" | "trailer" = "head";
  let remaining = 0;
  let status: number | null = null;

  const finish = (): void => {
    stage = "head";
    const resolve = done;
    done = null;
    resolve?.(status);
  };
  socket.on("data", (data: Buffer) => {
    pending = pending.length === 0 ? data : Buffer.concat([pending, data]);
    let offset = 0;
    for (;;) {
      if (stage === "head") {
        const end = pending.indexOf("\r\n\r\n", offset);
        if (end === -1) break;
        const text = pending.toString("latin1", offset, end).toLowerCase();
        offset = end + 4;
        status = Number(text.slice(9, 12));
        const length = /\r\ncontent-length: *(\d+)/.exec(text);
        if (head || status === 304 || status === 204) {
          finish();
        } else if (/\r\ntransfer-encoding: *chunked/.test(text)) {
          stage = "chunk-size";
        } else {
          remaining = length ? Number(length[1]) : 0;
          stage = "length";
          if (remaining === 0) finish();
        }
      } else if (stage === "length") {
        const take = Math.min(remaining, pending.length - offset);
        offset += take;
        remaining -= take;
        if (remaining > 0) break;
        finish();
      } else if (stage === "chunk-size") {
        const end = pending.indexOf("\r\n", offset);
        if (end === -1) break;
        remaining = parseInt(pending.toString("latin1", offset, end), 16);
        offset = end + 2;
        stage = remaining === 0 ? "trailer" : "chunk-data";
      } else if (stage === "chunk-data") {
        const take = Math.min(remaining, pending.length - offset);
        offset += take;
        remaining -= take;
        if (remaining > 0) break;
        stage = "chunk-end";
      } else if (stage === "chunk-end") {
        if (pending.length - offset < 2) break;
        offset += 2;
        stage = "chunk-size";
      } else {
        const end = pending.indexOf("\r\n", offset);
        if (end === -1) break;
        const empty = end === offset;
        offset = end + 2;
        if (empty) finish();
      }
      if (offset >= pending.length) break;
    }
    pending = offset >= pending.length ? Buffer.alloc(0) : pending.subarray(offset);
  });
  socket.on("error", () => done?.(null));
  socket.on("close", () => done?.(null));
  return {
    exchange(request) {
      return new Promise<number | null>((resolve) => {
        done = resolve;
        head = request.head;
        socket.write(request.bytes);
      });
    },
    close() {
      socket.destroy();
    },
  };
}

/** Process ids of the workerd processes below `ancestor` (direct children with `direct`). */
export function workerdBelow(ancestor: number, direct = false): number[] {
  const parents = new Map<number, number>();
  const workerd: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
      if (name.startsWith("workerd")) workerd.push(Number(entry));
    } catch {
      continue;
    }
  }
  return workerd.filter((pid) => {
    for (
      let p = parents.get(pid);
      p !== undefined && p > 1;
      p = direct ? undefined : parents.get(p)
    ) {
      if (p === ancestor) return true;
    }
    return false;
  });
}

/** CPU time a process has run, in nanoseconds (all its threads), or null when it cannot be read. */
export function cpuNanos(pid: number | null | undefined): number | null {
  if (pid === null || pid === undefined) return null;
  try {
    let total = 0;
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      total += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, "utf8").split(" ")[0]);
    }
    return total;
  } catch {
    return null;
  }
}

/** Resident memory of a process in bytes, or null when it cannot be read. */
export function residentBytes(pid: number | null): number | null {
  if (pid === null) return null;
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    return kb === undefined ? null : Number(kb) * 1024;
  } catch {
    return null;
  }
}
