import { describe, expect, it } from "vitest";
import { terminalProgress } from "../src/index.js";

function fakeStream(isTTY: boolean): NodeJS.WriteStream & { text: string } {
  const stream = { isTTY, text: "", write: (chunk: string) => ((stream.text += chunk), true) };
  return stream as unknown as NodeJS.WriteStream & { text: string };
}

describe("terminalProgress", () => {
  it("redraws one line on a terminal for a long sync and clears it at the end", () => {
    const stream = fakeStream(true);
    const progress = terminalProgress(stream);
    progress.onProgress({ done: 500, total: 500, uploadedBytes: 3 * 1024 * 1024 });
    expect(stream.text).toBe("\r[kv-assets] 500/500 files hashed, 3.0 MB queued for upload");
    progress.end();
    expect(stream.text.endsWith("\r\x1b[K")).toBe(true);
  });

  it("writes nothing when the stream is not a terminal or the sync is short", () => {
    const pipe = fakeStream(false);
    terminalProgress(pipe).onProgress({ done: 500, total: 500, uploadedBytes: 0 });
    const short = fakeStream(true);
    terminalProgress(short).onProgress({ done: 5, total: 5, uploadedBytes: 0 });
    expect(pipe.text + short.text).toBe("");
  });
});
