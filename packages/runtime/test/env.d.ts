declare module "cloudflare:test" {
  interface ProvidedEnv {
    ASSETS: KVNamespace;
    LOADER: WorkerLoader;
    ORIGIN: Fetcher;
    BUCKET: R2Bucket;
  }
}
