// kv-assets with edgeCache: bodies kept in the Cache API in front of KV, as kv-asset-handler does.
import { kvAssetsWorker } from "./kv-assets-worker.js";

export default kvAssetsWorker({ edgeCache: true });
