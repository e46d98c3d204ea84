// Maps a path to the HTML file it serves, or to its canonical URL, the way Workers Static Assets does.

/** How `.html` files and trailing slashes map to URLs; the same modes as Workers Static Assets. */
export type HtmlHandling =
  "auto-trailing-slash" | "force-trailing-slash" | "drop-trailing-slash" | "none";

/** What a path resolves to: a file to serve, or a canonical path to redirect to. */
export type HtmlResolution = { file: string } | { redirect: string };

/**
 * Resolves a decoded path against the set of files `has` knows. Returns `null` when nothing matches.
 *
 * A redirect is only offered when the canonical path serves the very same file, so a redirect
 * can never point at a missing page or loop (the rule Workers Static Assets calls a safe redirect).
 */
export function resolveHtml(
  path: string,
  mode: HtmlHandling,
  has: (file: string) => boolean,
): HtmlResolution | null {
  return resolve(path, false);

  function resolve(p: string, skipRedirects: boolean): HtmlResolution | null {
    const redirect = (file: string, to: string): HtmlResolution | null => {
      if (skipRedirects || to === "" || has(to)) return null;
      const target = resolve(to, true);
      return target && "file" in target && target.file === file ? { redirect: to } : null;
    };
    const serve = (file: string): HtmlResolution | null => (has(file) ? { file } : null);
    switch (mode) {
      case "none":
        return serve(p);
      case "auto-trailing-slash":
        return auto(p, redirect, serve);
      case "force-trailing-slash":
        return force(p, redirect, serve);
      case "drop-trailing-slash":
        return drop(p, redirect, serve);
    }
  }
}

type Redirect = (file: string, to: string) => HtmlResolution | null;
type Serve = (file: string) => HtmlResolution | null;

// `/a.html` is served at `/a`, `/a/index.html` at `/a/`.
function auto(p: string, redirect: Redirect, serve: Serve): HtmlResolution | null {
  if (p.endsWith("/index")) {
    return (
      serve(p) ??
      redirect(`${p}.html`, p.slice(0, -5)) ??
      redirect(`${p.slice(0, -6)}.html`, p.slice(0, -6)) ??
      tail()
    );
  }
  if (p.endsWith("/index.html")) {
    return (
      redirect(p, p.slice(0, -10)) ?? redirect(`${p.slice(0, -11)}.html`, p.slice(0, -11)) ?? tail()
    );
  }
  if (p.endsWith("/")) {
    return serve(`${p}index.html`) ?? redirect(`${p.slice(0, -1)}.html`, p.slice(0, -1)) ?? tail();
  }
  if (p.endsWith(".html")) {
    return (
      redirect(p, p.slice(0, -5)) ??
      redirect(`${p.slice(0, -5)}/index.html`, `${p.slice(0, -5)}/`) ??
      tail()
    );
  }
  return tail();

  function tail(): HtmlResolution | null {
    return serve(p) ?? serve(`${p}.html`) ?? redirect(`${p}/index.html`, `${p}/`);
  }
}

// Every page is served at a URL ending in `/`.
function force(p: string, redirect: Redirect, serve: Serve): HtmlResolution | null {
  if (p.endsWith("/index")) {
    return (
      serve(p) ??
      redirect(`${p}.html`, p.slice(0, -5)) ??
      redirect(`${p.slice(0, -6)}.html`, p.slice(0, -5)) ??
      tail()
    );
  }
  if (p.endsWith("/index.html")) {
    return (
      redirect(p, p.slice(0, -10)) ?? redirect(`${p.slice(0, -11)}.html`, p.slice(0, -10)) ?? tail()
    );
  }
  if (p.endsWith("/")) {
    return serve(`${p}index.html`) ?? serve(`${p.slice(0, -1)}.html`) ?? tail();
  }
  if (p.endsWith(".html")) {
    return (
      redirect(p, `${p.slice(0, -5)}/`) ??
      serve(p) ??
      redirect(`${p.slice(0, -5)}/index.html`, `${p.slice(0, -5)}/`) ??
      tail()
    );
  }
  return tail();

  function tail(): HtmlResolution | null {
    return serve(p) ?? redirect(`${p}.html`, `${p}/`) ?? redirect(`${p}/index.html`, `${p}/`);
  }
}

// Every page but the root is served at a URL without a trailing `/`.
function drop(p: string, redirect: Redirect, serve: Serve): HtmlResolution | null {
  if (p.endsWith("/index")) {
    const found =
      serve(p) ??
      (p === "/index"
        ? redirect("/index.html", "/")
        : (redirect(`${p.slice(0, -6)}.html`, p.slice(0, -6)) ??
          redirect(`${p}.html`, p.slice(0, -6))));
    return found ?? tail();
  }
  if (p.endsWith("/index.html")) {
    if (p === "/index.html") return redirect(p, "/") ?? tail();
    return (
      redirect(p, p.slice(0, -11)) ??
      serve(p) ??
      redirect(`${p.slice(0, -11)}.html`, p.slice(0, -11)) ??
      tail()
    );
  }
  if (p.endsWith("/")) {
    if (p === "/") return serve("/index.html") ?? tail();
    return (
      redirect(`${p.slice(0, -1)}.html`, p.slice(0, -1)) ??
      redirect(`${p.slice(0, -1)}/index.html`, p.slice(0, -1)) ??
      tail()
    );
  }
  if (p.endsWith(".html")) {
    return (
      redirect(p, p.slice(0, -5)) ??
      redirect(`${p.slice(0, -5)}/index.html`, p.slice(0, -5)) ??
      tail()
    );
  }
  return tail();

  function tail(): HtmlResolution | null {
    return serve(p) ?? serve(`${p}.html`) ?? serve(`${p}/index.html`);
  }
}
