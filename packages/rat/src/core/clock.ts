/** Milliseconds since the epoch; one place so tests and commits agree on time. */
export function nowMs(): number {
  return Date.now();
}
