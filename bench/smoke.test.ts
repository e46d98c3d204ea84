// Runs each benchmark in its smoke mode, so the benchmarks cannot rot; they are never timed here.
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..");

function runBench(name: string): string {
  return execFileSync(
    process.execPath,
    [
      join(root, "node_modules", "vite-node", "vite-node.mjs"),
      join("bench", `${name}.ts`),
      "--smoke",
    ],
    { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
  );
}

describe("benchmarks in smoke mode", () => {
  it("bench:manifest prints its table", () => {
    expect(runBench("manifest")).toMatch(/\| files +\| packed bytes\/file/);
  });

  it("bench:runtime prints a row for every Worker", () => {
    const output = runBench("runtime");
    for (const worker of ["kv-assets", "kv-asset-handler", "hono", "floor"]) {
      expect(output).toContain(`| ${worker}`);
    }
  });

  it("bench:memory prints a row for each Worker", () => {
    const output = runBench("memory");
    expect(output).toContain("| floor");
    expect(output).toContain("| kv-assets");
  });

  it("bench:limits prints a row for each limit", () => {
    expect(runBench("limits")).toContain("| KV writes in one invocation");
  });

  it("bench:publish prints a row for each run", () => {
    const output = runBench("publish");
    for (const run of ["cold", "warm (no change)", "one file changed"])
      expect(output).toContain(run);
  });

  it("bench:sync prints local, remote, hashing and large-file tables", () => {
    const output = runBench("sync");
    expect(output).toContain("wrangler kv bulk put --local");
    expect(output).toContain("Workers Sites requests");
    expect(output).toContain("read + xxh64");
    expect(output).toMatch(/peak growth at 32 MiB against 8 MiB: \d/);
  });
});
