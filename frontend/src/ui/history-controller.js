// History mode: the query form, the vehicle choice and the player (play/pause, speed, loop, step,
// slider, clock). It loads trips from trips-api, keeps the playback clock and hands the renderer
// the chosen trips and their moving heads.

import { formatDuration, formatLocal, formatUtc, viewportBbox } from '../lib/format.js';
import {
  SPEEDS,
  advancePlayback,
  buildHeadBuffers,
  chooseTrips,
  createPlayback,
  fetchTrips,
  parseTimeInput,
  prepareTrips,
  seekPlayback,
  stepTime,
  toEpochMs,
  trailLengthFor,
  tripVehicles,
} from '../lib/history.js';

// Checkboxes shown at most in the vehicle choice (the rest stays reachable through the filter).
const MAX_CHOICES = 300;

/**
 * elements: {start, end, bbox, load, tripCount, status, choiceFilter, choices, choiceAll, play,
 * speed, loop, back, forward, slider, clock}.
 * renderer: setHistory(), fitBounds(), getBounds() (view [w,s,e,n] for "only trips in view").
 * colorFor(id) -> [r,g,b]; onChange() when the URL-worthy state (window, choice) changed.
 */
export function createHistoryController({ elements: el, config, renderer, fetchFn, colorFor, announce, onChange, log, now = () => Date.now() }) {
  const h = {
    trips: [],
    shown: [],
    originMs: null,
    spanSec: 0,
    trailLengthSec: 60,
    playback: createPlayback(0),
    chosen: new Set(),
    headCache: {},
    abort: null,
  };

  for (const s of SPEEDS) {
    const option = el.speed.ownerDocument.createElement('option');
    option.value = String(s);
    option.textContent = `${s}×`;
    el.speed.append(option);
  }
  el.speed.value = String(h.playback.speed);

  function pushToRenderer() {
    if (h.originMs === null) {
      renderer.setHistory(null);
      return;
    }
    const heads = buildHeadBuffers(h.shown, h.playback.currentSec, h.trailLengthSec, h.headCache);
    renderer.setHistory({
      trips: h.shown,
      currentTime: h.playback.currentSec,
      trailLength: h.trailLengthSec,
      heads,
    });
  }

  function renderClock() {
    if (h.originMs === null) {
      el.clock.textContent = '';
      el.clock.removeAttribute('title');
      return;
    }
    const t = h.playback.currentSec;
    const at = toEpochMs(t, h.originMs);
    el.slider.value = String(t);
    el.slider.setAttribute('aria-valuetext', formatLocal(at));
    el.clock.textContent = `${formatLocal(at)}  (+${formatDuration(t)} / ${formatDuration(h.spanSec)})`;
    el.clock.title = `UTC ${formatUtc(at)}`;
  }

  function renderPlayer() {
    const pb = h.playback;
    const usable = h.shown.length > 0;
    el.play.textContent = pb.playing ? 'Pause' : 'Play';
    el.play.dataset.playing = String(pb.playing);
    el.play.setAttribute('aria-pressed', String(pb.playing));
    el.loop.setAttribute('aria-pressed', String(pb.loop));
    for (const control of [el.play, el.back, el.forward, el.slider]) control.disabled = !usable;
  }

  function setPlaying(playing) {
    h.playback.playing = playing && h.shown.length > 0;
    if (h.playback.playing && h.playback.currentSec >= h.spanSec) seekPlayback(h.playback, 0);
    renderPlayer();
  }

  function seek(seconds) {
    seekPlayback(h.playback, seconds);
    renderClock();
    pushToRenderer();
  }

  function applyChoice() {
    h.shown = chooseTrips(h.trips, h.chosen);
    el.tripCount.textContent = String(h.shown.length);
    if (h.shown.length === 0) setPlaying(false);
    renderPlayer();
    pushToRenderer();
  }

  function renderChoices() {
    const doc = el.choices.ownerDocument;
    const filter = el.choiceFilter.value.trim().toLowerCase();
    const vehicles = tripVehicles(h.trips).filter((v) => !filter || v.id.toLowerCase().includes(filter));
    el.choices.replaceChildren(
      ...vehicles.slice(0, MAX_CHOICES).map((v) => {
        const label = doc.createElement('label');
        label.className = 'check';
        const box = doc.createElement('input');
        box.type = 'checkbox';
        box.value = v.id;
        box.checked = h.chosen.has(v.id);
        box.dataset.vehicleId = v.id;
        label.append(box, doc.createTextNode(` ${v.id} (${v.trips})`));
        return label;
      }),
    );
    if (vehicles.length > MAX_CHOICES) {
      const more = doc.createElement('p');
      more.className = 'muted';
      more.textContent = `${vehicles.length - MAX_CHOICES} more: narrow the filter`;
      el.choices.append(more);
    }
    el.choiceAll.checked = h.chosen.size === 0;
  }

  el.choices.addEventListener('change', (event) => {
    const box = event.target;
    if (!box.dataset || box.dataset.vehicleId === undefined) return;
    if (box.checked) h.chosen.add(box.dataset.vehicleId);
    else h.chosen.delete(box.dataset.vehicleId);
    el.choiceAll.checked = h.chosen.size === 0;
    applyChoice();
    onChange();
  });
  el.choiceAll.addEventListener('change', () => {
    if (!el.choiceAll.checked) {
      el.choiceAll.checked = h.chosen.size === 0;
      return;
    }
    h.chosen.clear();
    renderChoices();
    applyChoice();
    onChange();
  });
  el.choiceFilter.addEventListener('input', renderChoices);

  async function load() {
    const t = now();
    const start = parseTimeInput(el.start.value, t);
    const end = parseTimeInput(el.end.value, t);
    if (start === null || end === null) {
      el.status.textContent = 'invalid time: use ISO 8601, epoch ms or now-1h';
      return;
    }
    if (start >= end) {
      el.status.textContent = 'the start must be before the end';
      return;
    }
    if (h.abort) h.abort.abort();
    const abort = new AbortController();
    h.abort = abort;
    const bbox = el.bbox.checked ? viewportBbox(renderer.getBounds(), 0) : null;
    setPlaying(false);
    el.status.textContent = 'loading…';
    el.load.disabled = true;
    onChange();
    try {
      const result = await fetchTrips(
        fetchFn,
        config.apiUrl,
        { start, end, bbox },
        { pageSize: config.historyPageSize, maxTrips: config.historyMaxTrips, signal: abort.signal },
      );
      if (abort.signal.aborted) return;
      const prepared = prepareTrips(result.trips, colorFor);
      h.trips = prepared.trips;
      h.originMs = prepared.originMs;
      h.spanSec = prepared.spanSec;
      h.trailLengthSec = trailLengthFor(prepared.spanSec);
      const loop = h.playback.loop;
      h.playback = createPlayback(prepared.spanSec);
      h.playback.loop = loop;
      el.speed.value = String(h.playback.speed);
      el.slider.max = String(prepared.spanSec);
      const known = new Set(h.trips.map((trip) => trip.id));
      for (const id of h.chosen) if (!known.has(id)) h.chosen.delete(id);
      renderChoices();
      applyChoice();
      renderClock();
      const notes = [];
      if (result.truncated) notes.push(`first ${config.historyMaxTrips} only`);
      if (prepared.invalid) notes.push(`${prepared.invalid} unusable`);
      el.status.textContent = notes.length ? `(${notes.join(', ')})` : '';
      announce(`${h.trips.length} trips loaded`);
      log('info', 'history loaded', { trips: h.trips.length, pages: result.pages, spanSec: h.spanSec });
      fitToShown();
    } catch (err) {
      if (abort.signal.aborted) return;
      const message = String(err && err.message ? err.message : err);
      el.status.textContent = `error: ${message}`;
      announce(`history failed to load: ${message}`);
      log('error', 'history load failed', { error: message });
    } finally {
      if (h.abort === abort) {
        h.abort = null;
        el.load.disabled = false;
      }
    }
  }

  function fitToShown() {
    if (h.shown.length === 0) return;
    let [w, s, e, n] = [Infinity, Infinity, -Infinity, -Infinity];
    for (const trip of h.shown) {
      for (const [lon, lat] of trip.path) {
        w = Math.min(w, lon);
        e = Math.max(e, lon);
        s = Math.min(s, lat);
        n = Math.max(n, lat);
      }
    }
    renderer.fitBounds([[w, s], [e, n]], { maxZoom: 15 });
  }

  el.load.addEventListener('click', () => load());
  for (const input of [el.start, el.end]) {
    input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') load();
    });
  }
  el.play.addEventListener('click', () => setPlaying(!h.playback.playing));
  el.loop.addEventListener('click', () => handleShortcut('toggle-loop'));
  el.back.addEventListener('click', () => handleShortcut('step-back'));
  el.forward.addEventListener('click', () => handleShortcut('step-forward'));
  el.speed.addEventListener('change', () => {
    h.playback.speed = Number(el.speed.value);
  });
  el.slider.addEventListener('input', () => seek(Number(el.slider.value)));

  /** Performs a shortcut action; returns true when it applied. */
  function handleShortcut(action) {
    const pb = h.playback;
    switch (action) {
      case 'toggle-play':
        setPlaying(!pb.playing);
        return true;
      case 'toggle-loop':
        pb.loop = !pb.loop;
        renderPlayer();
        announce(pb.loop ? 'loop on' : 'loop off');
        return true;
      case 'step-forward':
      case 'step-back':
        if (h.shown.length === 0) return false;
        setPlaying(false);
        seek(stepTime(h.shown, pb.currentSec, action === 'step-forward' ? 1 : -1));
        return true;
      case 'jump-forward':
      case 'jump-back':
        if (h.shown.length === 0) return false;
        seek(pb.currentSec + (action === 'jump-forward' ? 1 : -1) * Math.max(1, h.spanSec / 10));
        return true;
      default:
        return false;
    }
  }

  renderPlayer();

  return {
    load,
    handleShortcut,
    /** Advance the clock by dtMs of wall time (called once per animation frame). */
    tick(dtMs) {
      if (!h.playback.playing) return;
      advancePlayback(h.playback, dtMs);
      if (!h.playback.playing) renderPlayer();
      pushToRenderer();
    },
    /** The clock's text is refreshed at the UI's pace, not every frame. */
    refreshClock: renderClock,
    pause: () => setPlaying(false),
    /** From the URL: the window as typed and the chosen vehicles. */
    restore({ from, to, only }) {
      if (from) el.start.value = from;
      if (to) el.end.value = to;
      h.chosen = new Set(only ?? []);
    },
    urlState() {
      return { from: el.start.value.trim(), to: el.end.value.trim(), only: [...h.chosen] };
    },
    get state() {
      return h;
    },
  };
}
