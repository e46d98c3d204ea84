// A local origin for the pull-through tests: fixed files, the cases a cache must not keep, and a
// count of the requests each path received (GET /__hits?path=...).
const hits = new Map();
const big = "x".repeat(3000);

const files = {
  "/photos/cat.txt": () =>
    file("a cat", { ETag: '"cat-v1"', "Last-Modified": "Tue, 02 Jan 2024 03:04:05 GMT" }),
  "/photos/no-validators.txt": () =>
    new Response("plain", { headers: { "Content-Type": "text/plain" } }),
  "/photos/weak.txt": () => file("weak tag", { ETag: 'W/"weak-1"' }),
  "/photos/a file (1).txt": () => file("spaces"),
  "/private.txt": () => file("mine", { "Cache-Control": "private, max-age=60" }),
  "/no-store.txt": () => file("fresh", { "Cache-Control": "no-store" }),
  "/cookie.txt": () => file("tracked", { "Set-Cookie": "id=1" }),
  "/vary.txt": () => file("varies", { Vary: "User-Agent" }),
  "/big.txt": () => file(big),
  "/chunked.txt": () =>
    new Response(
      new ReadableStream({
        start(controller) {
          for (let i = 0; i < 3; i++) controller.enqueue(new TextEncoder().encode(`part${i};`));
          controller.close();
        },
      }),
      { headers: { "Content-Type": "text/plain" } },
    ),
  "/big-chunked.txt": () =>
    new Response(
      new ReadableStream({
        start(controller) {
          for (let i = 0; i < 3; i++) controller.enqueue(new TextEncoder().encode(big));
          controller.close();
        },
      }),
      { headers: { "Content-Type": "text/plain" } },
    ),
  "/slow.txt": async () => {
    await new Promise((resolve) => setTimeout(resolve, 100));
    return file("slow body", { ETag: '"slow"' });
  },
};

function file(body, headers = {}) {
  return new Response(body, {
    headers: { "Content-Type": "text/plain; charset=utf-8", ...headers },
  });
}

export default {
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === "/__hits")
      return Response.json(hits.get(url.searchParams.get("path")) ?? []);
    const path = decodeURIComponent(url.pathname).replace(/^\/bucket/, "");
    hits.set(path, [...(hits.get(path) ?? []), request.url]);
    const make = files[path];
    return make ? make() : new Response("no such object", { status: 404 });
  },
};
