// npm run soak — builds the playground, serves it with `wrangler dev`, and sends it a steady mix of
// requests for a few minutes (SOAK_SECONDS, default 180; SOAK_RATE per second, default 100).
import { buildPlayground, startWrangler } from "../playground/test/server.js";
import { machine, table } from "./lib.js";
import { soak } from "./soak-lib.js";

const seconds = Number(process.env.SOAK_SECONDS ?? 180);
const rate = Number(process.env.SOAK_RATE ?? 100);

await buildPlayground();
const server = await startWrangler();
try {
  const report = await soak(server.url, { seconds, rate, wranglerPid: server.pid });
  const mib = (bytes: number | null): string =>
    bytes === null ? "n/a" : `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  console.log(`soak on ${machine()}: ${seconds} s at ${rate} requests/s against wrangler dev\n`);
  console.log(
    table(
      [
        "requests",
        "req/s",
        "p50 ms",
        "p99 ms",
        "errors",
        "workerd RSS at start",
        "at end",
        "growth",
      ],
      [
        [
          report.requests,
          report.rps.toFixed(0),
          report.p50.toFixed(1),
          report.p99.toFixed(1),
          report.errors,
          mib(report.memoryStart),
          mib(report.memoryEnd),
          report.memoryStart && report.memoryEnd
            ? mib(report.memoryEnd - report.memoryStart)
            : "n/a",
        ],
      ],
    ),
  );
  console.log(`\nworkerd RSS through the run: ${report.memorySamples.map(mib).join(", ")}`);
  for (const [what, count] of report.failures) console.log(`  ${count} × ${what}`);
  process.exitCode = report.errors === 0 ? 0 : 1;
} finally {
  await server.stop();
}
