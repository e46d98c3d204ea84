// Builds the playground and runs it under `wrangler dev` on a free loopback port, as the README does.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
export const root = fileURLToPath(new URL("..", import.meta.url));
const viteBin = join(dirname(require.resolve("vite/package.json")), "bin", "vite.js");
const wranglerBin = join(dirname(require.resolve("wrangler/package.json")), "bin", "wrangler.js");

/** Keeps wrangler and Miniflare off the internet: no telemetry, no update check, no Request.cf download. */
export const offline = {
  WRANGLER_SEND_METRICS: "false",
  WRANGLER_HIDE_BANNER: "true",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  NO_COLOR: "1",
};

/** Runs `vite build` in the playground and returns its output. Rejects when the build fails. */
export function buildPlayground(): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [viteBin, "build"],
      { cwd: root, env: { ...process.env, ...offline } },
      (error, stdout, stderr) =>
        error
          ? reject(new Error(`vite build failed:\n${stdout}${stderr}`))
          : resolve(stdout + stderr),
    );
  });
}

/** Starts `wrangler dev` and resolves once it answers; `stop` ends it and its children. */
export async function startWrangler(): Promise<{
  url: string;
  /** Process id of wrangler; workerd runs below it. */
  pid: number;
  log: () => string;
  stop: () => Promise<void>;
}> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    process.execPath,
    [wranglerBin, "dev", "--ip", "127.0.0.1", "--port", String(port)],
    {
      cwd: root,
      env: { ...process.env, ...offline },
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  child.stdout?.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (output += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited:\n${output}`);
    const up = await fetch(`${url}/api/hello`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) break;
    if (Date.now() > deadline)
      throw new Error(`wrangler dev did not answer within 90 s:\n${output}`);
    await new Promise((r) => setTimeout(r, 300));
  }
  return {
    url,
    pid: child.pid as number,
    log: () => output,
    stop: async () => {
      if (child.exitCode !== null || child.pid === undefined) return;
      const exited = new Promise((r) => child.once("exit", r));
      process.kill(-child.pid, "SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null) process.kill(-child.pid, "SIGKILL");
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
