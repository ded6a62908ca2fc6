// The UI modules' pure parts, on the real vehicle store and server clock.
import { describe, expect, it } from 'vitest';
import { detailRows } from '../src/ui/details-panel.js';
import { legendItems } from '../src/ui/legend.js';
import { statsLines } from '../src/ui/live-panel.js';
import { shouldRecentre } from '../src/ui/selection.js';
import { shortcutFor } from '../src/ui/shortcuts.js';
import { listRows, moveActive, virtualWindow } from '../src/ui/vehicle-list.js';
import { createFleet } from './support/fleet.js';

const T0 = Date.UTC(2024, 4, 1, 12, 0, 0);

function storeWith(points) {
  const fleet = createFleet({ serverNow: T0 });
  fleet.upsert(points);
  return fleet;
}

const point = (id, ageS, extra = {}) => ({ vehicle_id: id, ts: T0 - ageS * 1000, lon: 2, lat: 48, ...extra });

describe('listRows', () => {
  const fleet = [
    point('veh-10', 5, { speed: 3, source: 'mqtt' }),
    point('veh-9', 100, { speed: 12, source: 'owntracks' }),
    point('Bus-1', 400, { source: 'http' }),
    point('veh-2', 1, { speed: 30, source: 'mqtt' }),
  ];

  it('sorts by name with numbers in order, case-insensitively', () => {
    const { store } = storeWith(fleet);
    expect(listRows(store)).toEqual(['Bus-1', 'veh-2', 'veh-9', 'veh-10']);
  });

  it('searches ids and sources, case-insensitively', () => {
    const { store } = storeWith(fleet);
    expect(listRows(store, { query: 'VEH-1' })).toEqual(['veh-10']);
    expect(listRows(store, { query: 'mqtt' })).toEqual(['veh-2', 'veh-10']);
    expect(listRows(store, { query: '  own ' })).toEqual(['veh-9']);
    expect(listRows(store, { query: 'nothing' })).toEqual([]);
  });

  it('filters by status on the server clock, and statuses move with time', () => {
    const { store, advance } = storeWith(fleet);
    expect(listRows(store, { status: 'live' })).toEqual(['veh-2', 'veh-10']);
    expect(listRows(store, { status: 'stale' })).toEqual(['veh-9']);
    expect(listRows(store, { status: 'offline' })).toEqual(['Bus-1']);
    advance(58_000);
    expect(listRows(store, { status: 'live' })).toEqual(['veh-2']);
  });

  it('sorts by last seen and by speed, newest/fastest first, unknown last', () => {
    const { store } = storeWith(fleet);
    expect(listRows(store, { sort: 'recent' })).toEqual(['veh-2', 'veh-10', 'veh-9', 'Bus-1']);
    expect(listRows(store, { sort: 'speed' })).toEqual(['veh-2', 'veh-9', 'veh-10', 'Bus-1']);
  });

  it('re-sorts names only when vehicles come or go', () => {
    const { store, upsert, remove } = storeWith(fleet);
    const cache = {};
    listRows(store, { now: 0 }, cache);
    const order = cache.byId;
    upsert([point('veh-2', 0)]);
    listRows(store, { now: 10_000 }, cache);
    expect(cache.byId).toBe(order);
    upsert([point('a-new', 0)]);
    expect(listRows(store, { now: 20_000 }, cache)[0]).toBe('a-new');
    remove(['a-new']);
    expect(listRows(store, { now: 30_000 }, cache)).toEqual(['Bus-1', 'veh-2', 'veh-9', 'veh-10']);
  });

  it('while a large fleet arrives, appends newcomers and sorts at most every resortMs', () => {
    const { store, upsert, remove } = storeWith(fleet);
    const cache = {};
    // sortAlwaysBelow: 0 treats these four vehicles as a large fleet.
    listRows(store, { now: 0, resortMs: 3000, sortAlwaysBelow: 0 }, cache);
    upsert([point('a-new', 0), point('veh-1', 0)]);
    // Within the interval: every vehicle is listed, the newcomers last in arrival order.
    expect(listRows(store, { now: 1000, resortMs: 3000, sortAlwaysBelow: 0 }, cache)).toEqual(['Bus-1', 'veh-2', 'veh-9', 'veh-10', 'a-new', 'veh-1']);
    remove(['veh-9']);
    expect(listRows(store, { now: 1200, resortMs: 3000, sortAlwaysBelow: 0 }, cache)).toEqual(['Bus-1', 'veh-2', 'veh-10', 'a-new', 'veh-1']);
    upsert([point('veh-9', 0)]);
    expect(listRows(store, { now: 1500, resortMs: 3000, sortAlwaysBelow: 0 }, cache)).toEqual(['Bus-1', 'veh-2', 'veh-10', 'a-new', 'veh-1', 'veh-9']);
    // Filters and searches apply to the newcomers too.
    expect(listRows(store, { query: 'a-', now: 1600, resortMs: 3000, sortAlwaysBelow: 0 }, cache)).toEqual(['a-new']);
    // Once the interval has passed the name order is restored, even with no further arrival.
    expect(listRows(store, { now: 3000, resortMs: 3000, sortAlwaysBelow: 0 }, cache)).toEqual(['a-new', 'Bus-1', 'veh-1', 'veh-2', 'veh-9', 'veh-10']);
  });

  it('keeps a small fleet in name order at every call', () => {
    const { store, upsert } = storeWith(fleet);
    const cache = {};
    listRows(store, { now: 0 }, cache);
    upsert([point('a-new', 0)]);
    expect(listRows(store, { now: 1 }, cache)[0]).toBe('a-new');
  });

  it('returns the cached name order itself when nothing is filtered', () => {
    const { store } = storeWith(fleet);
    const cache = {};
    const rows = listRows(store, {}, cache);
    expect(rows).toBe(cache.byId);
    expect(listRows(store, { status: 'live' }, cache)).not.toBe(cache.byId);
  });

  it('handles 100k vehicles', () => {
    const many = Array.from({ length: 100_000 }, (_, i) => point(`v-${i}`, i % 500));
    const { store } = storeWith(many);
    const rows = listRows(store, { query: 'v-9999' });
    expect(rows).toEqual(['v-9999', 'v-99990', 'v-99991', 'v-99992', 'v-99993', 'v-99994', 'v-99995', 'v-99996', 'v-99997', 'v-99998', 'v-99999']);
    expect(listRows(store, { sort: 'recent' })).toHaveLength(100_000);
    // A shared 2-core machine: building the fleet alone can take seconds. Nothing here is timed.
  }, 120_000);
});

describe('virtualWindow', () => {
  it('renders only the rows in view plus the overscan', () => {
    expect(virtualWindow({ scrollTop: 0, viewportHeight: 280, rowHeight: 28, total: 100_000, overscan: 5 })).toEqual({
      start: 0,
      end: 16,
      offsetTop: 0,
      totalHeight: 2_800_000,
    });
    const mid = virtualWindow({ scrollTop: 28 * 50_000 + 10, viewportHeight: 280, rowHeight: 28, total: 100_000, overscan: 5 });
    expect([mid.start, mid.end]).toEqual([49_995, 50_016]);
    expect(mid.end - mid.start).toBeLessThan(30);
  });

  it('stays within the rows at the end and for empty lists', () => {
    const end = virtualWindow({ scrollTop: 10_000, viewportHeight: 280, rowHeight: 28, total: 20, overscan: 5 });
    expect([end.start, end.end]).toEqual([20, 20]);
    expect(virtualWindow({ scrollTop: 0, viewportHeight: 0, rowHeight: 28, total: 0 })).toMatchObject({ start: 0, end: 0 });
  });
});

describe('moveActive', () => {
  it('moves through the list with the usual keys', () => {
    expect(moveActive('ArrowDown', -1, 10, 5)).toBe(0);
    expect(moveActive('ArrowDown', 9, 10, 5)).toBe(9);
    expect(moveActive('ArrowUp', 0, 10, 5)).toBe(0);
    expect(moveActive('PageDown', 2, 10, 5)).toBe(7);
    expect(moveActive('PageDown', 8, 10, 5)).toBe(9);
    expect(moveActive('PageUp', 3, 10, 5)).toBe(0);
    expect(moveActive('Home', 5, 10, 5)).toBe(0);
    expect(moveActive('End', 5, 10, 5)).toBe(9);
    expect(moveActive('a', 5, 10, 5)).toBeNull();
    expect(moveActive('ArrowDown', -1, 0, 5)).toBeNull();
  });
});

describe('detailRows', () => {
  it('shows every field the panel needs', () => {
    const rows = detailRows(
      { vehicle_id: 'truck-7', ts: T0, lon: 2.3522, lat: 48.8566, speed: 12.5, heading: 90, alt: 35, battery: 81, source: 'mqtt' },
      12_400,
      'live',
    );
    const byKey = Object.fromEntries(rows.map((r) => [r.key, r.value]));
    expect(byKey).toEqual({
      status: 'live',
      source: 'mqtt',
      speed: '45.0 km/h (12.5 m/s)',
      heading: '90° E',
      alt: '35 m',
      battery: '81 %',
      seen: '12 s ago',
      position: '48.85660° N, 2.35220° E',
    });
    expect(rows.find((r) => r.key === 'seen').title).toContain('2024-05-01T12:00:00Z');
  });

  it('says unknown for missing fields and when the vehicle left the feed', () => {
    const rows = detailRows({ vehicle_id: 'x', ts: T0, lon: 0, lat: 0 }, null, null);
    expect(rows.filter((r) => r.value === 'unknown').map((r) => r.key)).toEqual(['status', 'source', 'speed', 'heading', 'alt', 'battery', 'seen']);
    expect(detailRows(null)).toEqual([{ key: 'seen', label: 'Last seen', value: 'not in the live feed' }]);
  });
});

describe('legendItems', () => {
  it('states the thresholds of this deployment', () => {
    const texts = legendItems({ staleSeconds: 90, offlineSeconds: 600 }).map((i) => i.text);
    expect(texts).toContain('stale: silent for over 1 min 30 s');
    expect(texts).toContain('offline: silent for over 10 min 0 s');
    expect(texts).toContain('live: seen in the last 1 min 30 s');
  });
});

describe('statsLines', () => {
  it('shows the counters and escapes the URL', () => {
    const lines = statsLines(
      { frames: 3, garbage: 1, errors: 0, snapshots: 1, updates: 2, removes: 0, invalidPoints: 0, opens: 1, retries: 2, nextRetryAt: 5_600 },
      { wsUrl: 'ws://x/?a=<b>', protocol: 2, nowMs: 1_000, status: 'closed' },
    );
    expect(lines[0]).toContain('<span data-testid="frames-count">3</span>');
    expect(lines).toContain('reconnecting in 5 s');
    expect(lines.at(-1)).toContain('&lt;b&gt;');
    expect(statsLines({}, { wsUrl: '', protocol: null, nowMs: 0, status: 'open' })[2]).toContain('protocol ?');
  });
});

describe('shouldRecentre', () => {
  it('moves the map only when the vehicle moved on screen', () => {
    expect(shouldRecentre([100, 100], [100, 101])).toBe(false);
    expect(shouldRecentre([100, 100], [100, 110])).toBe(true);
    expect(shouldRecentre(null, [0, 0])).toBe(true);
  });
});

describe('shortcutFor', () => {
  const key = (k, target = { tagName: 'BODY' }, mods = {}) => ({ key: k, target, ...mods });

  it('maps the player keys', () => {
    expect(shortcutFor(key(' '))).toBe('toggle-play');
    expect(shortcutFor(key('ArrowRight'))).toBe('step-forward');
    expect(shortcutFor(key('ArrowLeft'))).toBe('step-back');
    expect(shortcutFor(key('ArrowRight', undefined, { shiftKey: true }))).toBe('jump-forward');
    expect(shortcutFor(key('L'))).toBe('toggle-loop');
    expect(shortcutFor(key('l'))).toBe('toggle-loop');
    expect(shortcutFor(key('Escape'))).toBe('escape');
    expect(shortcutFor(key('x'))).toBeNull();
  });

  it('never fires while typing, with modifiers, or where the key has its own meaning', () => {
    expect(shortcutFor(key('l', { tagName: 'INPUT', type: 'text' }))).toBeNull();
    expect(shortcutFor(key(' ', { tagName: 'TEXTAREA' }))).toBeNull();
    expect(shortcutFor(key('l', { tagName: 'DIV', isContentEditable: true }))).toBeNull();
    expect(shortcutFor(key('l', undefined, { ctrlKey: true }))).toBeNull();
    expect(shortcutFor(key(' ', { tagName: 'BUTTON' }))).toBeNull();
    expect(shortcutFor(key('ArrowLeft', { tagName: 'INPUT', type: 'range' }))).toBeNull();
    expect(shortcutFor(key(' ', { tagName: 'INPUT', type: 'range' }))).toBe('toggle-play');
    expect(shortcutFor(key('ArrowDown', { tagName: 'DIV', getAttribute: () => 'listbox' }))).toBeNull();
  });
});
