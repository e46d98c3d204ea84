// The ready asset Worker, deployed as is: each request's project is the first label of its host
// (PROJECT_FROM in wrangler.assets.jsonc picks another rule). Any Worker binds it as a service.
export { default } from "@kv-assets/runtime/asset-worker";
