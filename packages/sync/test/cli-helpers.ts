// The CLI entry and the manifest check, as tests import them.
export { runCli } from "../src/cli.js";
export { validateManifest as validateManifestShape } from "@kv-assets/runtime";
