// Early Hints: the Link header of an HTML page, read from what the page itself preloads.

/** Most links kept for one page; Early Hints is for the few things a page needs first. */
const MAX_LINKS = 20;

/**
 * The `Link` header value for an HTML page: its `<link rel="preload|modulepreload|preconnect">`
 * as written, its stylesheets as `rel=preload; as=style`, and its module scripts as
 * `rel=modulepreload` (what Vite injects), in the page's order, without repeats. `undefined`
 * when the page names none. Only plain URLs are kept: one with a space, `<`, `>`, a quote or a
 * comma could not be written in a Link header unambiguously.
 */
export function linkHeaderOf(html: string): string | undefined {
  const links: string[] = [];
  const seen = new Set<string>();
  const add = (url: string | undefined, params: string): void => {
    if (url === undefined || !/^[^\s<>"',]+$/.test(url) || url.startsWith("data:")) return;
    const value = `<${url}>; ${params}`;
    if (seen.has(value) || links.length >= MAX_LINKS) return;
    seen.add(value);
    links.push(value);
  };
  // Comments hold no links of the page.
  const page = html.replace(/<!--[\s\S]*?-->/g, "");
  for (const [tag] of page.matchAll(/<(?:link|script)\b[^>]*>/gi)) {
    const attributes = attributesOf(tag);
    if (/^<script/i.test(tag)) {
      if (attributes.type?.toLowerCase() === "module") {
        add(attributes.src, `rel=modulepreload${crossOrigin(attributes)}`);
      }
      continue;
    }
    const rel = (attributes.rel ?? "").toLowerCase().split(/\s+/);
    if (rel.includes("stylesheet")) {
      add(attributes.href, `rel=preload; as=style${crossOrigin(attributes)}`);
    } else if (rel.includes("modulepreload")) {
      add(attributes.href, `rel=modulepreload${crossOrigin(attributes)}`);
    } else if (rel.includes("preload") && attributes.as && /^[a-z]+$/i.test(attributes.as)) {
      const type =
        attributes.type && /^[\w.+-]+\/[\w.+-]+$/.test(attributes.type)
          ? `; type="${attributes.type}"`
          : "";
      add(
        attributes.href,
        `rel=preload; as=${attributes.as.toLowerCase()}${type}${crossOrigin(attributes)}`,
      );
    } else if (rel.includes("preconnect")) {
      add(attributes.href, `rel=preconnect${crossOrigin(attributes)}`);
    }
  }
  return links.length > 0 ? links.join(", ") : undefined;
}

function crossOrigin(attributes: Record<string, string | undefined>): string {
  if (!("crossorigin" in attributes)) return "";
  return attributes.crossorigin === "use-credentials"
    ? "; crossorigin=use-credentials"
    : "; crossorigin";
}

// The attributes of one tag, names lower-cased; a bare attribute has the value "".
function attributesOf(tag: string): Record<string, string | undefined> {
  const attributes: Record<string, string | undefined> = {};
  const pattern = /([^\s"'<>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;
  for (const match of tag.replace(/^<\w+|\/?>$/g, "").matchAll(pattern)) {
    const name = (match[1] as string).toLowerCase();
    if (!Object.hasOwn(attributes, name)) attributes[name] = match[2] ?? match[3] ?? match[4] ?? "";
  }
  return attributes;
}
