// A local HTTP server that answers the Workers KV REST endpoints the way the Cloudflare API does,
// with its limits, cursor pagination and error envelopes, plus faults a test can queue.
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** A fault the next matching request meets. */
export type Fault =
  | { status: 429; retryAfter?: number }
  | { status: 500 | 502 | 503; retryAfterMs?: number }
  | { drop: true }
  | { delayMs: number }
  | { unsuccessful: number };

export interface StoredValue {
  value: Buffer;
  metadata?: unknown;
  /** When it was written (ms), for the lagging key list. */
  written?: number;
}

export interface KvApiEmulator {
  /** Base URL to give the SDK. */
  baseURL: string;
  accountId: string;
  namespaceId: string;
  token: string;
  /** The namespace's contents. */
  store: Map<string, StoredValue>;
  /** Every request: method, path and body bytes. */
  requests: { method: string; path: string; bytes: number; status: number }[];
  /** Faults met by the next requests, first in first out; `match` limits one to some paths. */
  faults: (Fault & { match?: RegExp })[];
  /** Keys bulk writes reported as unsuccessful (the `unsuccessful` fault), so a test sees it fired. */
  refusedKeys: number;
  /** Answer every bulk write with this fault until cleared (an outage longer than retries). */
  persistentFault?: Fault;
  /**
   * Make the key list lag writes by this many ms, as KV's eventually consistent listing does: keys
   * written more recently are not listed yet, and keys deleted more recently are still listed.
   */
  listLagMs: number;
  close(): Promise<void>;
}

const MAX_BULK_KEYS = 10_000;
const MAX_BULK_BYTES = 100 * 1000 * 1000;
const MAX_KEY_BYTES = 512;
const MAX_VALUE_BYTES = 25 * 1024 * 1024;

/** Starts the emulator on a free loopback port. */
export async function startKvApiEmulator(): Promise<KvApiEmulator> {
  const accountId = "0123456789abcdef0123456789abcdef";
  const namespaceId = "fedcba9876543210fedcba9876543210";
  const token = "test-token-7f3a9c0e51d24b68";
  const store = new Map<string, StoredValue>();
  const requests: KvApiEmulator["requests"] = [];
  const faults: KvApiEmulator["faults"] = [];
  const deleted = new Map<string, StoredValue>();
  const base = `/accounts/${accountId}/storage/kv/namespaces/${namespaceId}`;

  const emulator = {} as KvApiEmulator;
  const server: Server = createServer(async (req, res) => {
    const body = await readBody(req);
    const url = new URL(req.url ?? "/", "http://localhost");
    const record = {
      method: req.method ?? "",
      path: url.pathname,
      bytes: body.byteLength,
      status: 0,
    };
    requests.push(record);
    const send = (status: number, payload: unknown, headers: Record<string, string> = {}): void => {
      record.status = status;
      res.writeHead(status, { "Content-Type": "application/json", ...headers });
      res.end(JSON.stringify(payload));
    };

    const at = faults.findIndex((f) => !f.match || f.match.test(url.pathname));
    const fault =
      at === -1
        ? url.pathname.endsWith("/bulk")
          ? emulator.persistentFault
          : undefined
        : faults.splice(at, 1)[0];
    if (fault && "drop" in fault) {
      record.status = -1;
      req.socket.destroy();
      return;
    }
    if (fault && "delayMs" in fault) await new Promise((r) => setTimeout(r, fault.delayMs));
    if (fault && "status" in fault) {
      const headers: Record<string, string> = {};
      if (fault.status === 429 && fault.retryAfter !== undefined)
        headers["Retry-After"] = String(fault.retryAfter);
      // The cloudflare SDK waits as long as this header says before retrying any status.
      if (fault.status !== 429 && fault.retryAfterMs !== undefined)
        headers["retry-after-ms"] = String(fault.retryAfterMs);
      return send(
        fault.status,
        envelopeError(fault.status === 429 ? 10429 : 10001, `error ${fault.status}`),
        headers,
      );
    }

    if (req.headers.authorization !== `Bearer ${token}`) {
      return send(401, envelopeError(10000, "Authentication error"));
    }
    if (!url.pathname.startsWith(base))
      return send(404, envelopeError(10013, "namespace not found"));
    const rest = url.pathname.slice(base.length);

    if (req.method === "PUT" && rest === "/bulk") {
      if (body.byteLength > MAX_BULK_BYTES)
        return send(413, envelopeError(10046, "request body too large"));
      const pairs = JSON.parse(body.toString("utf8")) as {
        key: string;
        value: string;
        base64?: boolean;
        metadata?: unknown;
      }[];
      if (!Array.isArray(pairs) || pairs.length > MAX_BULK_KEYS) {
        return send(400, envelopeError(10026, `bulk writes take at most ${MAX_BULK_KEYS} pairs`));
      }
      const refuse = fault && "unsuccessful" in fault ? fault.unsuccessful : 0;
      const unsuccessful: string[] = [];
      for (const [i, pair] of pairs.entries()) {
        if (Buffer.byteLength(pair.key) > MAX_KEY_BYTES)
          return send(400, envelopeError(10016, `key too long: ${pair.key.length}`));
        const value = pair.base64
          ? Buffer.from(pair.value, "base64")
          : Buffer.from(pair.value, "utf8");
        if (value.byteLength > MAX_VALUE_BYTES)
          return send(413, envelopeError(10046, `value too large for ${pair.key}`));
        if (i < refuse) {
          unsuccessful.push(pair.key);
          continue;
        }
        store.set(pair.key, { value, metadata: pair.metadata, written: Date.now() });
      }
      emulator.refusedKeys += unsuccessful.length;
      return send(
        200,
        envelope({
          successful_key_count: pairs.length - unsuccessful.length,
          unsuccessful_keys: unsuccessful,
        }),
      );
    }

    if (req.method === "POST" && rest === "/bulk/delete") {
      const keys = JSON.parse(body.toString("utf8")) as string[];
      if (keys.length > MAX_BULK_KEYS) return send(400, envelopeError(10026, "too many keys"));
      for (const key of keys) {
        const stored = store.get(key);
        if (stored) deleted.set(key, { ...stored, written: Date.now() });
        store.delete(key);
      }
      return send(200, envelope({ successful_key_count: keys.length, unsuccessful_keys: [] }));
    }

    if (req.method === "GET" && rest === "/keys") {
      const prefix = url.searchParams.get("prefix") ?? "";
      const limit = Number(url.searchParams.get("limit") ?? 1000);
      if (!(limit >= 10 && limit <= 1000))
        return send(400, envelopeError(10026, "limit must be 10 to 1000"));
      const after = url.searchParams.get("cursor")
        ? Buffer.from(url.searchParams.get("cursor")!, "base64url").toString()
        : "";
      // What the list sees: the store as it was listLagMs ago.
      const seen = Date.now() - emulator.listLagMs;
      const visible = new Map<string, StoredValue>();
      for (const [key, value] of deleted) if ((value.written ?? 0) > seen) visible.set(key, value);
      for (const [key, value] of store) if ((value.written ?? 0) <= seen) visible.set(key, value);
      const names = [...visible.keys()].filter((k) => k.startsWith(prefix) && k > after).sort();
      const page = names.slice(0, limit);
      const more = names.length > limit;
      const result = page.map((name) => {
        const metadata = visible.get(name)?.metadata;
        return metadata === undefined ? { name } : { name, metadata };
      });
      const cursor = more ? Buffer.from(page[page.length - 1]!).toString("base64url") : "";
      return send(200, { ...envelope(result), result_info: { count: page.length, cursor } });
    }

    if (req.method === "GET" && rest.startsWith("/values/")) {
      const key = decodeURIComponent(rest.slice("/values/".length));
      const stored = store.get(key);
      if (!stored) return send(404, envelopeError(10009, "get: 'key not found'"));
      record.status = 200;
      res.writeHead(200, { "Content-Type": "application/octet-stream" });
      res.end(stored.value);
      return;
    }

    send(405, envelopeError(10000, `no route for ${req.method} ${rest}`));
  });

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  Object.assign(emulator, {
    baseURL: `http://127.0.0.1:${port}`,
    accountId,
    namespaceId,
    token,
    store,
    requests,
    faults,
    listLagMs: 0,
    refusedKeys: 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
  return emulator;
}

function envelope(result: unknown): Record<string, unknown> {
  return { success: true, errors: [], messages: [], result };
}

function envelopeError(code: number, message: string): Record<string, unknown> {
  return { success: false, errors: [{ code, message }], messages: [], result: null };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}
