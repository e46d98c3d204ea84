// A one-line progress display for long syncs, shown only on a terminal.
import type { SyncOptions } from "./options.js";

/** Minimum file count before a progress line is worth showing. */
const MIN_FILES = 200;

/**
 * Returns an `onProgress` for {@link SyncOptions} that redraws one line on `stream` when it is a
 * terminal, or nothing when it is not (CI logs, pipes). Call `end()` before printing the summary.
 */
export function terminalProgress(stream: NodeJS.WriteStream = process.stderr): {
  onProgress: NonNullable<SyncOptions["onProgress"]>;
  end: () => void;
} {
  let shown = false;
  let last = 0;
  return {
    onProgress({ done, total, uploadedBytes }) {
      if (!stream.isTTY || total < MIN_FILES) return;
      const now = Date.now();
      if (done !== total && now - last < 100) return;
      last = now;
      shown = true;
      const mb = (uploadedBytes / 1024 / 1024).toFixed(1);
      stream.write(`\r[kv-assets] ${done}/${total} files hashed, ${mb} MB queued for upload`);
    },
    end() {
      if (shown) stream.write("\r\x1b[K");
      shown = false;
    },
  };
}
