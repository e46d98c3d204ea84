// SIGINT and SIGTERM during a run: stop it cleanly (lock released, nothing half published) and loudly.
//
// Two dependencies end the process on these signals before a run can clean up: importing wrangler
// adds listeners that call `process.exit()` with code 0 (they stop `pages dev` builders, which a
// sync never starts), and Miniflare, once started, adds listeners that exit at once. The first
// are removed for good when wrangler is loaded (`loadWrangler`); the second are set aside while a
// run is interruptible, as soon as they are added, and put back when it ends.

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
  const park = (): void => {
    for (const name of SIGNALS) {
      for (const listener of process.listeners(name) as Listener[]) {
        if (listener === listeners.get(name)) continue;
        process.removeListener(name, listener);
        parked.set(name, [...(parked.get(name) ?? []), listener]);
      }
    }
  };
  // A listener is added right after this event; a signal is handled only from the event loop, so
  // one set aside in a microtask never runs before this run's own.
  const onNewListener = (event: string | symbol): void => {
    if (SIGNALS.includes(event as Signal)) queueMicrotask(park);
  };
  function end(): void {
    process.removeListener("newListener", onNewListener);
    for (const name of SIGNALS) {
      process.removeListener(name, listeners.get(name) as Listener);
      for (const listener of parked.get(name) ?? []) {
        if (!unwanted.has(listener)) process.on(name, listener);
      }
    }
    parked.clear();
  }
  for (const name of SIGNALS) process.on(name, listeners.get(name) as Listener);
  park();
  process.on("newListener", onNewListener);
  return { signal: controller.signal, end };
}

/**
 * Imports wrangler, removing the signal listeners its import adds: they exit with code 0, so a
 * process that imported wrangler would report an interrupted run as a success.
 */
export async function loadWrangler(): Promise<typeof import("wrangler")> {
  const record = (event: string | symbol, listener: Listener): void => {
    if (SIGNALS.includes(event as Signal)) unwanted.add(listener);
  };
  process.on("newListener", record);
  try {
    return await import("wrangler");
  } finally {
    process.removeListener("newListener", record);
    for (const name of SIGNALS) {
      for (const listener of process.listeners(name) as Listener[]) {
        if (unwanted.has(listener)) process.removeListener(name, listener);
      }
    }
  }
}

// Listeners wrangler's import added: never put back by a run that set them aside.
const unwanted = new WeakSet<Listener>();
