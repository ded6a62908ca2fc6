// @vitest-environment happy-dom
// The history controller against a real HTTP server standing in for trips-api's /api/trips.
import http from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHistoryController } from '../src/ui/history-controller.js';

const T0 = Date.UTC(2024, 4, 1, 8, 0, 0);
const TRIPS = [
  { vehicle_id: 'bus-1', path: [[2.30, 48.80], [2.31, 48.81], [2.32, 48.82]], timestamps: [T0, T0 + 60_000, T0 + 120_000] },
  { vehicle_id: 'car-2', path: [[2.40, 48.90], [2.41, 48.91]], timestamps: [T0 + 30_000, T0 + 600_000] },
];

let server;
let apiUrl;
const requests = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    if (req.method === 'GET') requests.push(req.url);
    const url = new URL(req.url, 'http://x');
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { 'Access-Control-Allow-Origin': '*', 'Access-Control-Allow-Headers': '*' }).end();
      return;
    }
    if (url.pathname !== '/api/trips') {
      res.writeHead(404).end();
      return;
    }
    if (url.searchParams.get('start') === '1') {
      res.writeHead(500, { 'Content-Type': 'application/json', 'Access-Control-Allow-Origin': '*' }).end('{"error":"database down"}');
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json', 'Access-Control-Allow-Origin': '*' });
    res.end(JSON.stringify({ trips: TRIPS, next_offset: null }));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  apiUrl = `http://127.0.0.1:${server.address().port}`;
});

afterAll(() => new Promise((resolve) => server.close(resolve)));

const IDS = ['start', 'end', 'bbox', 'load', 'tripCount', 'status', 'choiceFilter', 'choices', 'choiceAll', 'play', 'speed', 'loop', 'back', 'forward', 'slider', 'clock'];

function setup() {
  document.body.innerHTML = `
    <input id="start" value="2024-05-01T07:59:00Z" /><input id="end" value="2024-05-01T09:00:00Z" />
    <input type="checkbox" id="bbox" /><button id="load"></button><span id="tripCount"></span><span id="status"></span>
    <input id="choiceFilter" /><div id="choices"></div><input type="checkbox" id="choiceAll" checked />
    <button id="play"></button><select id="speed"></select><button id="loop" aria-pressed="true"></button>
    <button id="back"></button><button id="forward"></button>
    <input type="range" id="slider" min="0" max="0" step="any" /><p id="clock"></p>`;
  const elements = Object.fromEntries(IDS.map((id) => [id, document.getElementById(id)]));
  const drawn = [];
  const fitted = [];
  const announced = [];
  let changes = 0;
  const controller = createHistoryController({
    elements,
    config: { apiUrl, historyPageSize: 500, historyMaxTrips: 5000 },
    renderer: {
      setHistory: (h) => drawn.push(h),
      fitBounds: (b) => fitted.push(b),
      getBounds: () => [2, 48, 3, 49],
    },
    fetchFn: fetch,
    colorFor: () => [1, 2, 3],
    announce: (t) => announced.push(t),
    onChange: () => (changes += 1),
    log: () => {},
    now: () => T0,
  });
  return { elements, controller, drawn, fitted, announced, changes: () => changes };
}

describe('history controller', () => {
  beforeEach(() => {
    requests.length = 0;
  });

  it('loads the window, lists the vehicles, fits the view and draws the trips', async () => {
    const { elements: el, controller, drawn, fitted, announced } = setup();
    await controller.load();
    expect(requests[0]).toMatch(/^\/api\/trips\?start=1714550340000&end=1714554000000&limit=500$/);
    expect(el.tripCount.textContent).toBe('2');
    expect([...el.choices.querySelectorAll('input')].map((b) => b.value)).toEqual(['bus-1', 'car-2']);
    expect(fitted[0]).toEqual([[2.3, 48.8], [2.41, 48.91]]);
    expect(drawn.at(-1).trips).toHaveLength(2);
    expect(drawn.at(-1).currentTime).toBe(0);
    expect(el.play.disabled).toBe(false);
    expect(announced).toEqual(['2 trips loaded']);
  });

  it('sends the view as bbox when asked', async () => {
    const { elements: el, controller } = setup();
    el.bbox.checked = true;
    await controller.load();
    expect(new URL(requests[0], 'http://x').searchParams.get('bbox')).toBe('2,48,3,49');
  });

  it('replays only the chosen vehicles', async () => {
    const { elements: el, controller, drawn } = setup();
    await controller.load();
    const box = el.choices.querySelector('input[value=car-2]');
    box.checked = true;
    box.dispatchEvent(new Event('change', { bubbles: true }));
    expect(drawn.at(-1).trips.map((t) => t.id)).toEqual(['car-2']);
    expect(el.choiceAll.checked).toBe(false);
    expect(controller.urlState().only).toEqual(['car-2']);
    el.choiceAll.checked = true;
    el.choiceAll.dispatchEvent(new Event('change'));
    expect(drawn.at(-1).trips).toHaveLength(2);
  });

  it('steps between fixes, plays, loops, and shows local time with UTC on hover', async () => {
    const { elements: el, controller, drawn, announced } = setup();
    await controller.load();
    el.forward.click();
    expect(drawn.at(-1).currentTime).toBe(30);
    controller.handleShortcut('step-forward');
    expect(drawn.at(-1).currentTime).toBe(60);
    el.back.click();
    expect(drawn.at(-1).currentTime).toBe(30);
    expect(el.clock.title).toBe('UTC 2024-05-01T08:00:30Z');
    controller.refreshClock();
    expect(el.slider.value).toBe('30');

    controller.handleShortcut('toggle-play');
    expect(el.play.dataset.playing).toBe('true');
    el.speed.value = '60';
    el.speed.dispatchEvent(new Event('change'));
    controller.tick(1000);
    expect(drawn.at(-1).currentTime).toBe(90);
    // Past the end (600 s) with loop on: back to the start.
    controller.tick(10_000);
    expect(drawn.at(-1).currentTime).toBeCloseTo(90, 6);
    controller.handleShortcut('toggle-loop');
    expect(el.loop.getAttribute('aria-pressed')).toBe('false');
    expect(announced.at(-1)).toBe('loop off');
    controller.tick(10_000);
    expect(drawn.at(-1).currentTime).toBe(600);
    expect(el.play.dataset.playing).toBe('false');
  });

  it('says what is wrong with the input or the API, and recovers', async () => {
    const { elements: el, controller } = setup();
    el.start.value = 'yesterday';
    await controller.load();
    expect(el.status.textContent).toMatch(/invalid time/);
    el.start.value = '1';
    await controller.load();
    expect(el.status.textContent).toBe('error: trips-api HTTP 500: database down');
    expect(el.load.disabled).toBe(false);
  });

  it('restores the window and the choice from the URL', async () => {
    const { elements: el, controller, drawn } = setup();
    controller.restore({ from: 'now-2h', to: 'now', only: ['bus-1', 'gone'] });
    expect([el.start.value, el.end.value]).toEqual(['now-2h', 'now']);
    await controller.load();
    expect(new URL(requests[0], 'http://x').searchParams.get('start')).toBe(String(T0 - 7_200_000));
    expect(drawn.at(-1).trips.map((t) => t.id)).toEqual(['bus-1']);
    expect(controller.urlState()).toEqual({ from: 'now-2h', to: 'now', only: ['bus-1'] });
  });
});
