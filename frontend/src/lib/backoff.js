// Reconnect delays: exponential, capped, with "full jitter" (uniform in [0, nominal]) so that many
// clients dropped together by a relay restart spread their reconnects over the whole window
// instead of arriving in a ±20 % wave.

export const DEFAULT_BACKOFF = Object.freeze({
  initialMs: 500,
  factor: 2,
  maxMs: 30000,
});

/** Nominal (upper bound) delay before reconnect attempt `attempt` (0-based). */
export function nominalDelay(attempt, opts = DEFAULT_BACKOFF) {
  const o = { ...DEFAULT_BACKOFF, ...opts };
  const n = Math.max(0, Math.floor(attempt));
  // Cap the exponent so huge attempt counts cannot overflow to Infinity * 0 = NaN.
  const exp = Math.min(n, 60);
  return Math.min(o.maxMs, o.initialMs * o.factor ** exp);
}

/** Full-jitter delay: uniform in [0, nominalDelay(attempt)]; `random` returns a number in [0, 1). */
export function backoffDelay(attempt, opts = DEFAULT_BACKOFF, random = Math.random) {
  return Math.round(nominalDelay(attempt, opts) * random());
}

/** The first `count` nominal delays, for display and tests. */
export function backoffSchedule(count, opts = DEFAULT_BACKOFF) {
  return Array.from({ length: count }, (_, i) => nominalDelay(i, opts));
}
