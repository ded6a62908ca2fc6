import { describe, expect, it } from 'vitest';
import { createUrlStateWriter, formatUrlState, parseUrlState } from '../src/ui/url-state.js';

describe('parseUrlState / formatUrlState', () => {
  it('round-trips view, mode, selection, follow and the history window', () => {
    const state = {
      view: { longitude: 2.3522, latitude: 48.8566, zoom: 12.5, bearing: 30, pitch: 10 },
      mode: 'history',
      vehicle: 'alice/phone',
      follow: true,
      from: '2024-05-01T08:00:00Z',
      to: 'now',
      only: ['truck 7', 'bus&1'],
    };
    const hash = formatUrlState(state);
    expect(hash).toMatch(/^#map=12\.5%2F48\.8566%2F2\.3522%2F30%2F10&mode=history/);
    expect(parseUrlState(hash)).toEqual(state);
  });

  it('leaves defaults out and reads an empty fragment as the live default', () => {
    expect(formatUrlState({ mode: 'live', view: null, vehicle: null, follow: false, only: [] })).toBe('');
    expect(parseUrlState('')).toEqual({
      view: null,
      mode: 'live',
      vehicle: null,
      follow: false,
      from: null,
      to: null,
      only: [],
    });
  });

  it('drops the bearing and pitch when both are zero, and the history window in live mode', () => {
    const hash = formatUrlState({
      view: { longitude: 1, latitude: 2, zoom: 3, bearing: 0, pitch: 0 },
      mode: 'live',
      from: 'now-1h',
      to: 'now',
    });
    expect(hash).toBe('#map=3%2F2%2F1');
  });

  it('clamps and wraps out-of-range views, and ignores unreadable ones', () => {
    expect(parseUrlState('#map=30/95/190/400/99').view).toEqual({
      longitude: -170,
      latitude: 85.05113,
      zoom: 22,
      bearing: 180,
      pitch: 85,
    });
    for (const bad of ['#map=1/2', '#map=a/b/c', '#map=1//3', '#map=1/2/3/4/5/6']) {
      expect(parseUrlState(bad).view).toBeNull();
    }
  });

  it('refuses ids with control characters and follow without a vehicle', () => {
    expect(parseUrlState('#vehicle=a%0Ab&follow=1')).toMatchObject({ vehicle: null, follow: false });
    expect(parseUrlState('#follow=1').follow).toBe(false);
    expect(parseUrlState(`#vehicle=${'x'.repeat(129)}`).vehicle).toBeNull();
    expect(parseUrlState('#mode=bogus').mode).toBe('live');
  });

  it('keeps non-ASCII ids and removes duplicate history vehicles', () => {
    const hash = formatUrlState({ mode: 'history', only: ['bús-ñ', '車両'], vehicle: '車両' });
    expect(parseUrlState(`${hash}&only=${encodeURIComponent('車両')}`)).toMatchObject({
      vehicle: '車両',
      only: ['bús-ñ', '車両'],
    });
  });
});

describe('createUrlStateWriter', () => {
  function fakeTimers() {
    const pending = new Map();
    let next = 1;
    return {
      setTimeout(fn) {
        pending.set(next, fn);
        return next++;
      },
      clearTimeout(id) {
        pending.delete(id);
      },
      run() {
        const fns = [...pending.values()];
        pending.clear();
        for (const fn of fns) fn();
      },
      get size() {
        return pending.size;
      },
    };
  }

  it('coalesces updates into one replaceState that keeps path and query', () => {
    const calls = [];
    const timers = fakeTimers();
    const writer = createUrlStateWriter({
      location: { pathname: '/app/', search: '?wsUrl=ws://x', hash: '' },
      history: { state: null, replaceState: (_s, _t, url) => calls.push(url) },
      initial: { mode: 'live' },
      timers,
    });
    writer.update({ view: { longitude: 1, latitude: 2, zoom: 3 } });
    writer.update({ vehicle: 'v1' });
    expect(timers.size).toBe(1);
    timers.run();
    expect(calls).toEqual(['/app/?wsUrl=ws://x#map=3%2F2%2F1&vehicle=v1']);
    writer.update({ vehicle: 'v1' });
    timers.run();
    expect(calls).toHaveLength(1);
    writer.update({ vehicle: null });
    writer.flush();
    expect(calls[1]).toBe('/app/?wsUrl=ws://x#map=3%2F2%2F1');
    expect(writer.state.vehicle).toBeNull();
  });
});
