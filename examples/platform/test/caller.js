// Stands in for any Worker that binds the asset Worker as a service, as a Rust Worker does with
// `env.service("ASSETS")?.fetch_request(req)`: it forwards the request and adds its own route.
export default {
  async fetch(request, env) {
    if (new URL(request.url).pathname === "/api/time")
      return new Response("the caller's own route");
    return env.ASSETS.fetch(request);
  },
};
