// How the runtime reports problems: one line to the Worker's log, or, for a misconfiguration, an
// Error thrown when the handler is made. Both name the package and say what to do.

/** Logs one line about a request-time problem; the request is still answered. */
export function logProblem(message: string): void {
  console.error(`[kv-assets] ${message}`);
}

/** Throws for a misconfiguration, once, where the handler or adapter is made. */
export function misconfigured(message: string): never {
  throw new Error(`[kv-assets] ${message}`);
}
