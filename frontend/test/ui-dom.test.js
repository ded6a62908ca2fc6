// @vitest-environment happy-dom
// The UI modules bound to real DOM elements (happy-dom): vehicle list, details panel, legend,
// announcer, selection and follow, live panel.
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createAnnouncer } from '../src/ui/announcer.js';
import { createDetailsPanel } from '../src/ui/details-panel.js';
import { renderLegend } from '../src/ui/legend.js';
import { createLivePanel } from '../src/ui/live-panel.js';
import { createSelection } from '../src/ui/selection.js';
import { createVehicleList } from '../src/ui/vehicle-list.js';
import { createFleet } from './support/fleet.js';

const T0 = Date.UTC(2024, 4, 1, 12, 0, 0);
const point = (id, ageS, extra = {}) => ({ vehicle_id: id, ts: T0 - ageS * 1000, lon: 2, lat: 48, ...extra });

function makeFleet(points) {
  const fleet = createFleet({ serverNow: T0 });
  fleet.upsert(points);
  return fleet;
}

function html(markup) {
  document.body.innerHTML = markup;
  return (id) => document.getElementById(id);
}

function key(target, k, extra = {}) {
  target.dispatchEvent(new KeyboardEvent('keydown', { key: k, bubbles: true, cancelable: true, ...extra }));
}

afterEach(() => {
  document.body.innerHTML = '';
});

describe('vehicle list', () => {
  let $;
  let store;
  let picked;
  let list;

  // Built once: the list only reads the store.
  beforeAll(() => {
    store = makeFleet(Array.from({ length: 100_000 }, (_, i) => point(`v-${String(i).padStart(6, '0')}`, i % 120))).store;
  }, 120_000);

  beforeEach(() => {
    $ = html(`
      <input id="search" type="search" />
      <select id="status"><option value="all">all</option><option value="stale">stale</option></select>
      <select id="sort"><option value="id">name</option><option value="recent">last seen</option></select>
      <p id="count"></p>
      <div id="list" style="height: 280px"></div>`);
    picked = [];
    list = createVehicleList({
      elements: { search: $('search'), statusFilter: $('status'), sort: $('sort'), count: $('count'), viewport: $('list') },
      store,
      onSelect: (id) => picked.push(id),
    });
    list.refresh();
  });

  it('renders a few dozen rows for 100k vehicles, as a listbox', () => {
    const rows = $('list').querySelectorAll('[role=option]');
    expect(rows.length).toBeGreaterThan(5);
    expect(rows.length).toBeLessThan(40);
    expect($('list').getAttribute('role')).toBe('listbox');
    expect($('count').textContent).toBe('100000 of 100000');
    expect(rows[0].dataset.vehicleId).toBe('v-000000');
    expect(rows[0].textContent).toContain('just now');
  });

  it('searches as you type and selects the first hit with Enter', () => {
    const search = $('search');
    search.value = 'v-09999';
    search.dispatchEvent(new Event('input'));
    expect($('count').textContent).toBe('10 of 100000');
    key(search, 'Enter');
    expect(picked).toEqual(['v-099990']);
  });

  it('filters by status and marks rows with their state', () => {
    $('status').value = 'stale';
    $('status').dispatchEvent(new Event('change'));
    // Ages 61..119 s of every 120 (the last 40 are 0..39 s): 59 of each full 120.
    expect(list.rows.length).toBe(Math.floor(100_000 / 120) * 59);
    const first = $('list').querySelector('[role=option]');
    expect(first.dataset.state).toBe('stale');
  });

  it('is reachable and usable from the keyboard', () => {
    const viewport = $('list');
    key($('search'), 'ArrowDown');
    expect(document.activeElement).toBe(viewport);
    expect(viewport.getAttribute('aria-activedescendant')).toBe('vehicle-option-0');
    key(viewport, 'ArrowDown');
    key(viewport, 'ArrowDown');
    expect(viewport.getAttribute('aria-activedescendant')).toBe('vehicle-option-2');
    key(viewport, 'Enter');
    expect(picked).toEqual(['v-000002']);
    key(viewport, 'End');
    expect(viewport.getAttribute('aria-activedescendant')).toBe('vehicle-option-99999');
    expect(viewport.querySelector('#vehicle-option-99999').dataset.vehicleId).toBe('v-099999');
  });

  it('keeps the active row on its vehicle when the rows change', () => {
    const viewport = $('list');
    key($('search'), 'ArrowDown');
    key(viewport, 'ArrowDown');
    key(viewport, 'ArrowDown');
    const search = $('search');
    search.value = 'v-000002';
    search.dispatchEvent(new Event('input'));
    expect(viewport.getAttribute('aria-activedescendant')).toBe('vehicle-option-0');
    search.value = '';
    search.dispatchEvent(new Event('input'));
    expect(viewport.getAttribute('aria-activedescendant')).toBe('vehicle-option-2');
    search.value = 'v-000003';
    search.dispatchEvent(new Event('input'));
    expect(viewport.hasAttribute('aria-activedescendant')).toBe(false);
  });

  it('marks the selected vehicle and scrolls to it', () => {
    list.setSelected('v-050000');
    const row = $('list').querySelector('[aria-selected=true]');
    expect(row.dataset.vehicleId).toBe('v-050000');
    $('list').querySelector('[data-vehicle-id=v-050000]').dispatchEvent(new MouseEvent('click', { bubbles: true }));
    expect(picked).toEqual(['v-050000']);
  });
});

describe('details panel, selection and follow', () => {
  let $;
  let store;
  let fleet;
  let calls;
  let renderer;
  let announced;
  let changes;
  let selection;

  beforeEach(() => {
    $ = html(`
      <section id="details" hidden><h2 id="title"></h2><dl id="rows"></dl>
        <button id="follow" aria-pressed="false">Follow</button><button id="zoom">Zoom</button><button id="close">x</button></section>`);
    fleet = makeFleet([point('truck-7', 12, { speed: 10, heading: 180, alt: 5, battery: 50, source: 'mqtt' })]);
    store = fleet.store;
    calls = [];
    let center = [2, 48];
    renderer = {
      setSelected: (id) => calls.push(['setSelected', id]),
      easeTo: (p) => {
        calls.push(['easeTo', p.lon, p.lat]);
        center = [p.lon, p.lat];
      },
      flyTo: (p) => calls.push(['flyTo', p.lon, p.lat, p.zoom]),
      getView: () => ({ lon: center[0], lat: center[1], zoom: 10 }),
      // 1 degree = 1000 px: enough to tell a move from none.
      pixelOf: (lon, lat) => [lon * 1000, -lat * 1000],
    };
    announced = [];
    changes = [];
    const list = { setSelected: (id) => calls.push(['list', id]) };
    const details = createDetailsPanel({
      elements: { root: $('details'), title: $('title'), rows: $('rows'), follow: $('follow'), zoom: $('zoom'), close: $('close') },
      onFollow: (on) => selection.setFollow(on),
      onZoom: () => selection.zoomTo(),
      onClose: () => selection.select(null),
    });
    selection = createSelection({ store, renderer, details, list, announce: (t) => announced.push(t), onChange: (c) => changes.push(c) });
  });

  it('shows the selected vehicle with every field', () => {
    selection.select('truck-7');
    expect($('details').hidden).toBe(false);
    expect($('title').textContent).toBe('truck-7');
    const dd = (k) => $('rows').querySelector(`[data-testid=detail-${k}]`).textContent;
    expect([dd('source'), dd('speed'), dd('heading'), dd('alt'), dd('battery'), dd('seen'), dd('position')]).toEqual([
      'mqtt',
      '36.0 km/h (10.0 m/s)',
      '180° S',
      '5 m',
      '50 %',
      '12 s ago',
      '48.00000° N, 2.00000° E',
    ]);
    expect($('details').dataset.state).toBe('live');
    expect(calls).toContainEqual(['setSelected', 'truck-7']);
    expect(calls).toContainEqual(['list', 'truck-7']);
    expect(announced).toEqual(['selected truck-7']);
    expect(changes.at(-1)).toEqual({ vehicle: 'truck-7', follow: false });
  });

  it('follows the vehicle as it moves, until turned off', () => {
    selection.select('truck-7');
    $('follow').click();
    expect($('follow').getAttribute('aria-pressed')).toBe('true');
    expect(changes.at(-1)).toEqual({ vehicle: 'truck-7', follow: true });
    calls.length = 0;
    fleet.upsert([point('truck-7', 0, { lon: 2.01 })]);
    selection.refresh();
    expect(calls).toEqual([['easeTo', 2.01, 48]]);
    selection.refresh();
    expect(calls).toHaveLength(1);
    $('follow').click();
    expect(selection.following).toBe(false);
    fleet.upsert([point('truck-7', -1, { lon: 2.05 })]);
    selection.refresh();
    expect(calls).toHaveLength(1);
  });

  it('zooms to, closes, and says when the vehicle left the feed', () => {
    selection.select('truck-7');
    $('zoom').click();
    expect(calls.at(-1)).toEqual(['flyTo', 2, 48, 15]);
    fleet.remove(['truck-7']);
    selection.refresh();
    expect($('rows').textContent).toContain('not in the live feed');
    expect($('details').dataset.state).toBe('gone');
    expect($('follow').disabled).toBe(true);
    $('close').click();
    expect($('details').hidden).toBe(true);
    expect(selection.selected).toBeNull();
  });
});

describe('legend and announcer', () => {
  it('renders one item per legend entry', () => {
    const $ = html('<ul id="legend"></ul>');
    renderLegend($('legend'), { staleSeconds: 60, offlineSeconds: 300 });
    expect([...$('legend').children].map((li) => li.dataset.legend)).toEqual(['heading', 'no-heading', 'live', 'stale', 'offline', 'selected']);
  });

  it('announces through the live region, repeating the same text', () => {
    vi.useFakeTimers();
    try {
      const $ = html('<div id="region" aria-live="polite"></div>');
      const { announce } = createAnnouncer($('region'));
      announce('live feed connected');
      expect($('region').textContent).toBe('');
      vi.advanceTimersByTime(60);
      expect($('region').textContent).toBe('live feed connected');
      announce('live feed connected');
      expect($('region').textContent).toBe('');
      vi.advanceTimersByTime(60);
      expect($('region').textContent).toBe('live feed connected');
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('live panel', () => {
  it('shows state, count and counters, and fits the view to the vehicles', () => {
    const $ = html(`<span id="conn"></span><span id="count"></span><input type="checkbox" id="trails" checked />
      <span id="note"></span><button id="fit"></button><footer id="stats"></footer>`);
    const { store } = makeFleet([point('a', 1, { lon: 1, lat: 40 }), point('b', 1, { lon: 3, lat: 42 })]);
    const calls = [];
    const announced = [];
    const panel = createLivePanel({
      elements: { connection: $('conn'), count: $('count'), trails: $('trails'), trailsNote: $('note'), fit: $('fit'), stats: $('stats') },
      config: { trailPoints: 20, trailMaxVehicles: 1, wsUrl: 'ws://relay' },
      store,
      live: { stats: { frames: 4, garbage: 0 }, protocol: 2 },
      renderer: { setShowTrails: (on) => calls.push(['trails', on]), fitBounds: (b) => calls.push(['fit', b]) },
      announce: (t) => announced.push(t),
    });
    panel.setStatus('connecting');
    panel.setStatus('open');
    panel.refresh();
    expect($('conn').dataset.state).toBe('open');
    expect(announced).toEqual(['live feed connected']);
    expect($('count').textContent).toBe('2');
    expect($('note').textContent).toBe('(hidden above 1 vehicles)');
    expect($('stats').querySelector('[data-testid=frames-count]').textContent).toBe('4');
    $('fit').click();
    $('trails').click();
    expect(calls).toEqual([
      ['trails', true],
      ['fit', [[1, 40], [3, 42]]],
      ['trails', false],
    ]);
  });
});

describe('tooltip', () => {
  it('shows a hovered vehicle next to it and hides on nothing', async () => {
    const { createTooltip, tooltipHtml } = await import('../src/ui/tooltip.js');
    const $ = html('<div id="tip" hidden></div>');
    const { store } = makeFleet([point('<bus>', 7, { speed: 5, heading: 90 })]);
    const tip = createTooltip({ element: $('tip'), store, pixelOf: (lon, lat) => [lon * 10, lat * 10] });
    tip.show({ kind: 'vehicle', id: '<bus>', lon: 2, lat: 48 });
    expect($('tip').hidden).toBe(false);
    expect($('tip').innerHTML).toContain('&lt;bus&gt;');
    expect($('tip').textContent).toContain('heading: 90° E');
    expect($('tip').textContent).toContain('last seen: 7 s ago');
    expect($('tip').style.transform).toBe('translate(32px, 492px)');
    tip.show(null);
    expect($('tip').hidden).toBe(true);
    expect(tooltipHtml({ kind: 'trip', id: 'a&b' }, store)).toBe('<strong>a&amp;b</strong>');
    expect(tooltipHtml({ kind: 'vehicle', id: 'gone' }, store)).toBeNull();
  });
});
