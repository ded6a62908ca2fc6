// Reconnect delays: exponential with full-range jitter around the nominal value, capped.

export const DEFAULT_BACKOFF = Object.freeze({
  initialMs: 500,
  factor: 2,
  maxMs: 30000,
  // Each delay is drawn from [nominal * (1 - jitter), nominal * (1 + jitter)], then capped.
  jitter: 0.2,
});

/** Nominal delay (no jitter) before reconnect attempt `attempt` (0-based). */
export function nominalDelay(attempt, opts = DEFAULT_BACKOFF) {
  const o = { ...DEFAULT_BACKOFF, ...opts };
  const n = Math.max(0, Math.floor(attempt));
  // Cap the exponent so huge attempt counts cannot overflow to Infinity * 0 = NaN.
  const exp = Math.min(n, 60);
  return Math.min(o.maxMs, o.initialMs * o.factor ** exp);
}

/** Delay with jitter; `random` returns a number in [0, 1). */
export function backoffDelay(attempt, opts = DEFAULT_BACKOFF, random = Math.random) {
  const o = { ...DEFAULT_BACKOFF, ...opts };
  const nominal = nominalDelay(attempt, o);
  const spread = nominal * o.jitter;
  const delay = nominal - spread + 2 * spread * random();
  return Math.round(Math.min(o.maxMs, Math.max(0, delay)));
}

/** The first `count` nominal delays, for display and tests. */
export function backoffSchedule(count, opts = DEFAULT_BACKOFF) {
  return Array.from({ length: count }, (_, i) => nominalDelay(i, opts));
}
