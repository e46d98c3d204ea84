// kv-assets: createAssetHandler over the manifest the sync produced, with its defaults.
import { kvAssetsWorker } from "./kv-assets-worker.js";

export default kvAssetsWorker();
