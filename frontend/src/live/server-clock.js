// The relay's clock as seen by the page: the last server_time received plus the monotonic time
// elapsed since it arrived. Vehicle ages use it, never Date.now(), so a browser whose clock is off
// by minutes still shows correct ages (protocol v2, "Staleness").

export function createServerClock({ now = () => performance.now() } = {}) {
  let serverTime = null;
  let observedAt = 0;
  return {
    observe(serverTimeMs) {
      if (typeof serverTimeMs !== 'number' || !Number.isFinite(serverTimeMs)) return;
      serverTime = serverTimeMs;
      observedAt = now();
    },
    /** Estimated relay time in epoch ms, or null before the first frame with server_time. */
    now() {
      return serverTime === null ? null : serverTime + (now() - observedAt);
    },
    ageMs(ts) {
      const t = this.now();
      return t === null || !Number.isFinite(ts) ? null : t - ts;
    },
  };
}
