import { resolve } from "node:path";
import { defineConfig, type Plugin } from "vite";
import { kvAssets } from "@kv-assets/vite";

export default defineConfig({
  build: {
    rollupOptions: {
      input: {
        main: resolve(import.meta.dirname, "index.html"),
        about: resolve(import.meta.dirname, "about/index.html"),
      },
    },
  },
  plugins: [kvAssets({ worker: "src/worker.ts" }), largeFile()],
});

// A file over KV's 25 MiB value limit, made at build time rather than committed.
// Its bytes are the same on every build, so a rebuild does not upload it again.
function largeFile(): Plugin {
  return {
    name: "playground-large-file",
    apply: "build",
    applyToEnvironment: (environment) => environment.name === "client",
    generateBundle() {
      const size = 26 * 1024 * 1024 + 12345;
      const bytes = new Uint8Array(size);
      let state = 0x2545f491;
      for (let i = 0; i < size; i++) {
        state ^= state << 13;
        state ^= state >>> 17;
        state ^= state << 5;
        bytes[i] = state & 0xff;
      }
      this.emitFile({ type: "asset", fileName: "large.bin", source: bytes });
    },
  };
}
