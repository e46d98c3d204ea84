// Types for `virtual:kv-manifest`: add "@kv-assets/vite/virtual" to `types` in tsconfig.json.
declare module "virtual:kv-manifest" {
  import type { PackedManifest } from "@kv-assets/runtime";
  const manifest: PackedManifest;
  export default manifest;
}
