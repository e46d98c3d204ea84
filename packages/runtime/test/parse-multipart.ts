// Reads a multipart/byteranges body back as a client would, for tests in workerd and in Node.

/** The parts of a multipart/byteranges body, parsed as a client would. */
export function parseMultipart(
  contentType: string,
  body: Uint8Array,
): { type: string; range: string; bytes: Uint8Array }[] {
  const boundary = /boundary=([^;]+)/.exec(contentType)![1]!;
  const text = new TextDecoder("latin1").decode(body);
  if (!text.endsWith(`\r\n--${boundary}--\r\n`))
    throw new Error("the multipart body does not end with its closing delimiter");
  const parts = [];
  let at = text.indexOf(`--${boundary}\r\n`);
  while (at !== -1) {
    const headEnd = text.indexOf("\r\n\r\n", at);
    const head = text.slice(at, headEnd).split("\r\n").slice(1);
    const next = text.indexOf(`\r\n--${boundary}`, headEnd);
    const field = (name: string) =>
      head
        .find((line) => line.toLowerCase().startsWith(`${name}:`))!
        .slice(name.length + 1)
        .trim();
    parts.push({
      type: field("content-type"),
      range: field("content-range"),
      bytes: body.slice(headEnd + 4, next),
    });
    at = text.startsWith(`\r\n--${boundary}\r\n`, next) ? next + 2 : -1;
  }
  return parts;
}
