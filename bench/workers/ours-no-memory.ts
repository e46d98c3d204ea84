// kv-assets with memoryCache off: every body from KV, as before the in-isolate cache.
import { kvAssetsWorker } from "./kv-assets-worker.js";

export default kvAssetsWorker({ memoryCache: false });
