// Feeds a vehicle store in tests the way the live controller does (frame processor -> store),
// without a WebSocket: feed.applyColumns(pointsToColumns(points)), feed.remove(ids).
import { createFrameProcessor } from '../../src/live/frame-processor.js';
import { encodeFrame } from './protocol-v2.js';

export function feedStore(store, { maxVehicles = 100000 } = {}) {
  // No live window: tests choose their own event times.
  const processor = createFrameProcessor({ maxVehicles, liveWindowSeconds: 0, now: () => 0 });
  function apply(result) {
    if (result.kind === 'data') store.applyData(result);
    else if (result.kind === 'remove') store.applyRemove(result);
    return result;
  }
  return {
    applyColumns(columns) {
      const points = Array.from({ length: columns.count }, (_, i) => ({
        vehicle_id: columns.ids[i],
        ts: columns.ts[i],
        lon: columns.lon[i],
        lat: columns.lat[i],
        speed: columns.speed[i],
        heading: columns.heading[i],
        alt: columns.alt[i],
        battery: columns.battery[i],
        source: columns.sources[i],
      }));
      return apply(processor.handle({ type: 'frame', data: encodeFrame('update', points, 0) }));
    },
    remove(ids) {
      return apply(processor.handle({ type: 'frame', data: encodeFrame('remove', ids.map((vehicle_id) => ({ vehicle_id })), 0) }));
    },
  };
}
