import "./style.css";

const status = document.querySelector<HTMLElement>("#status");
if (status) status.textContent = "The script ran.";

const api = document.querySelector<HTMLElement>("#api");
if (api) {
  fetch("/api/hello")
    .then((response) => response.json() as Promise<{ message: string }>)
    .then((body) => (api.textContent = body.message))
    .catch(() => (api.textContent = "The API did not answer."));
}

// What each kind of file got from the Worker, and what asking again with its ETag got.
const table = document.querySelector<HTMLTableSectionElement>("#responses tbody");
if (table) void showResponses(table);

async function showResponses(body: HTMLTableSectionElement): Promise<void> {
  const stylesheet = document.querySelector<HTMLLinkElement>('link[rel="stylesheet"]')?.href;
  const script = document.querySelector<HTMLScriptElement>('script[type="module"]')?.src;
  // The <img> gets the logo inlined; the icon link keeps it a file of its own.
  const logo = document.querySelector<HTMLLinkElement>(
    'link[rel="icon"][type="image/svg+xml"]',
  )?.href;
  const probes: { label: string; url: string; headers?: Record<string, string> }[] = [
    { label: "the page", url: "/" },
    ...(stylesheet ? [{ label: "its stylesheet", url: stylesheet }] : []),
    ...(script ? [{ label: "its script", url: script }] : []),
    ...(logo ? [{ label: "the logo", url: logo }] : []),
    { label: "data.json", url: "/data.json" },
    { label: "a file with a space", url: "/files/read%20me.txt" },
    { label: "1 KiB of large.bin", url: "/large.bin", headers: { Range: "bytes=0-1023" } },
    { label: "a missing page", url: "/missing" },
  ];
  for (const probe of probes) {
    const row = body.insertRow();
    row.dataset.label = probe.label;
    const cells = [probe.label, "…", "", "", "", ""].map((text) => {
      const cell = row.insertCell();
      cell.textContent = text;
      return cell;
    });
    try {
      const first = await fetch(probe.url, { cache: "no-store", headers: probe.headers });
      await first.arrayBuffer();
      const range = first.headers.get("Content-Range");
      cells[1]!.textContent = `${first.status}${range ? ` (${range})` : ""}`;
      cells[2]!.textContent = first.headers.get("Content-Encoding") ?? "identity";
      cells[3]!.textContent = first.headers.get("Cache-Control") ?? "";
      const etag = first.headers.get("ETag");
      cells[4]!.textContent = etag ?? "";
      if (etag && first.status === 200) {
        const again = await fetch(probe.url, {
          cache: "no-store",
          headers: { "If-None-Match": etag },
        });
        cells[5]!.textContent =
          again.status === 304 ? "304, no storage read" : String(again.status);
      }
    } catch {
      cells[1]!.textContent = "no answer";
    }
  }
  body.dataset.done = "true";
}
