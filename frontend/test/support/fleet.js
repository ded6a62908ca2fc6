// A vehicle store filled the way the page fills it: JSON frames of protocol v2 through the live
// controller (decoded inline, no socket), on a server clock the test moves by hand.
import { createLiveController } from '../../src/live/live-controller.js';
import { createServerClock } from '../../src/live/server-clock.js';
import { createVehicleStore } from '../../src/live/vehicle-store.js';

export function createFleet({ serverNow, staleSeconds = 60, offlineSeconds = 300 }) {
  let perf = 0;
  const now = () => perf;
  const clock = createServerClock({ now });
  const store = createVehicleStore({ clock });
  store.setThresholds({ staleSeconds, offlineSeconds });
  const live = createLiveController({ url: 'ws://127.0.0.1:9/', store, clock, liveWindowSeconds: 0, createWorker: null, now });
  const frame = (message) => live.injectFrame(JSON.stringify({ server_time: serverNow + perf, ...message }));
  frame({ type: 'hello', protocol: 2, format: 'json', frame_interval_ms: 100, heartbeat_s: 5, vehicle_ttl_s: 600 });
  return {
    store,
    upsert: (vehicles) => frame({ type: 'update', vehicles }),
    remove: (ids) => frame({ type: 'remove', ids }),
    advance: (ms) => {
      perf += ms;
    },
    close: () => live.stop(),
  };
}
