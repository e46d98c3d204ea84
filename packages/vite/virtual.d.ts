// Types for `virtual:kv-manifest`: add "@kv-assets/vite/virtual" to `types` in tsconfig.json.
declare module "virtual:kv-manifest" {
  import type { AssetManifest } from "@kv-assets/runtime";
  const manifest: AssetManifest;
  export default manifest;
}
