// SIGINT and SIGTERM during a run: stop it cleanly (lock released, nothing half published) and loudly.
//
// Two dependencies end the process on these signals before a run can clean up: importing wrangler
// adds listeners that call `process.exit()` with code 0 (they stop `pages dev` builders, which a
// sync never starts), and Miniflare, once started, adds listeners that exit at once. The first
// are removed for good when wrangler is loaded (`loadWrangler`); the second are set aside while a
// run is interruptible and put back when it ends.

type Signal = "SIGINT" | "SIGTERM";
type Listener = (...args: unknown[]) => void;

const SIGNALS: Signal[] = ["SIGINT", "SIGTERM"];

/** A run that SIGINT and SIGTERM abort, as {@link interruptible} returns it. */
export interface Interruptible {
  /** Aborted, with the signal's name as its reason, on the first signal. */
  signal: AbortSignal;
  /** Puts back what was set aside and stops listening. */
  end(): void;
}

/** Exit code of a process ended by `signal`, as shells report it. */
export function signalExitCode(signal: string): number {
  return signal === "SIGTERM" ? 143 : 130;
}

/**
 * Makes SIGINT and SIGTERM abort `signal` instead of ending the process, until `end()`. A second
 * signal ends the process at once, as the user asked twice.
 */
export function interruptible(): Interruptible {
  const controller = new AbortController();
  const parked = new Map<Signal, Listener[]>();
  const onSignal = (name: Signal): void => {
    if (!controller.signal.aborted) {
      controller.abort(name);
      return;
    }
    end();
    process.exit(signalExitCode(name));
  };
  const listeners = new Map<Signal, Listener>(SIGNALS.map((name) => [name, () => onSignal(name)]));
  const run = {
    park(): void {
      for (const name of SIGNALS) {
        for (const listener of process.listeners(name) as Listener[]) {
          if (listener === listeners.get(name)) continue;
          process.removeListener(name, listener);
          parked.set(name, [...(parked.get(name) ?? []), listener]);
        }
      }
    },
  };
  function end(): void {
    runs.delete(run);
    for (const name of SIGNALS) {
      process.removeListener(name, listeners.get(name) as Listener);
      for (const listener of parked.get(name) ?? []) process.on(name, listener);
    }
    parked.clear();
  }
  for (const name of SIGNALS) process.on(name, listeners.get(name) as Listener);
  runs.add(run);
  run.park();
  return { signal: controller.signal, end };
}

/** Sets aside signal listeners added since a run began (Miniflare's, once it has started). */
export function parkSignalListeners(): void {
  for (const run of runs) run.park();
}

/**
 * Imports wrangler, removing the signal listeners its import adds: they exit with code 0, so a
 * process that imported wrangler would report an interrupted run as a success.
 */
export async function loadWrangler(): Promise<typeof import("wrangler")> {
  const before = new Map(SIGNALS.map((name) => [name, new Set(process.listeners(name))]));
  const wrangler = await import("wrangler");
  for (const name of SIGNALS) {
    for (const listener of process.listeners(name)) {
      if (!before.get(name)?.has(listener)) process.removeListener(name, listener);
    }
  }
  return wrangler;
}

const runs = new Set<{ park(): void }>();
