// The examples of the Workers Static Assets documentation for `_headers` and `_redirects`, as users copy them.
export const DOCS_HEADERS = `# This is a comment
/secure/page
  X-Frame-Options: DENY
  X-Content-Type-Options: nosniff
  Referrer-Policy: no-referrer

/static/*
  Access-Control-Allow-Origin: *
  X-Robots-Tag: nosnippet

https://myproject.pages.dev/*
  X-Robots-Tag: noindex

/movies/:title
  x-movie-name: You are watching ":title"
`;

export const DOCS_REDIRECTS = `/home301 / 301
/home302 / 302
/querystrings /?query=string 301
/twitch https://twitch.tv
/trailing /trailing/path 301
/notrailing/ /nottrailing/path 301
/page/ /page2/#fragment 301
/blog/* https://blog.my.domain/:splat
/products/:code/:name /products?code=:code&name=:name
`;
