/** Invariant check for inner layers: input was validated at the edge, so a failure here is a bug. */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`invariant violated: ${message}`);
}
