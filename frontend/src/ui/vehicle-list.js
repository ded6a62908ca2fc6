// The vehicle list: search by id or source, filter by status, sort, and a virtualised listbox
// (only the rows in view exist in the DOM, so 100k vehicles cost a few dozen elements).
// Keyboard: arrows, Page Up/Down, Home/End move; Enter or Space selects.

import { formatAge } from '../lib/format.js';

export const SORTS = Object.freeze({
  id: 'name',
  recent: 'last seen',
  speed: 'speed',
});
export const STATUS_FILTERS = Object.freeze(['all', 'live', 'stale', 'offline']);

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

// While vehicles keep arriving (a 100k fleet fills over many frames), names are re-sorted at most
// this often; in between, newcomers are appended unsorted and leavers dropped, without a sort.
// Smaller fleets are cheap to sort and always kept in order.
export const RESORT_INTERVAL_MS = 3000;
export const SORT_ALWAYS_BELOW = 10000;

function hasVehicle(store, id) {
  return store.slotOf ? store.slotOf(id) >= 0 : store.get(id) != null;
}

/** Keeps cache.byId (ids in name order) in step with the store's membership. */
function updateNameOrder(store, cache, { now, resortMs, sortAlwaysBelow }) {
  const membership = store.membershipVersion ?? store.version;
  if (cache.byId && cache.membership === membership && (cache.sorted || now - cache.sortedAt < resortMs)) return;
  if (!cache.byId || store.size < sortAlwaysBelow || !(now - cache.sortedAt < resortMs)) {
    cache.byId = [...store.ids()].sort(collator.compare);
    cache.known = new Set(cache.byId);
    cache.sortedAt = now;
    cache.sorted = true;
  } else {
    const added = [];
    for (const id of store.ids()) {
      if (!cache.known.has(id)) added.push(id);
    }
    if (cache.byId.length + added.length !== store.size) {
      // Some left: drop them (a copy, but only when vehicles actually went away).
      cache.byId = cache.byId.filter((id) => {
        if (hasVehicle(store, id)) return true;
        cache.known.delete(id);
        return false;
      });
    }
    for (const id of added) {
      cache.known.add(id);
      cache.byId.push(id);
    }
    cache.sorted = false;
  }
  cache.membership = membership;
}

/**
 * Rows (vehicle ids) of the list from a store ({ids(), get(id), state(id), slotOf(id)}): ids or
 * sources containing `query` (case-insensitive), with status `status` ('all' for any), sorted by
 * `sort`. `cache` keeps the name order between calls: it is re-sorted when vehicles come or go; from
 * `sortAlwaysBelow` vehicles on, at most every `resortMs` (newcomers in between go last). Without a query or status filter the name
 * order is returned as it is (the caller must not modify it).
 */
export function listRows(
  store,
  { query = '', status = 'all', sort = 'id', now = Date.now(), resortMs = RESORT_INTERVAL_MS, sortAlwaysBelow = SORT_ALWAYS_BELOW } = {},
  cache = {},
) {
  updateNameOrder(store, cache, { now, resortMs, sortAlwaysBelow });
  if (sort === 'id' && status === 'all' && query.trim() === '') return cache.byId;
  const q = query.trim().toLowerCase();
  const rows = [];
  for (const id of cache.byId) {
    if (status !== 'all' && store.state(id) !== status) continue;
    if (q && !id.toLowerCase().includes(q)) {
      const source = store.get(id)?.source;
      if (!source || !source.toLowerCase().includes(q)) continue;
    }
    rows.push(id);
  }
  if (sort === 'recent' || sort === 'speed') {
    const key = new Float64Array(rows.length);
    for (let i = 0; i < rows.length; i += 1) {
      const v = store.get(rows[i]);
      const value = sort === 'recent' ? v?.ts : v?.speed;
      key[i] = typeof value === 'number' && Number.isFinite(value) ? value : -Infinity;
    }
    const order = Array.from(rows.keys());
    // Descending; ties keep the name order (the sort is stable). Unknown values go last.
    order.sort((a, b) => (key[a] === key[b] ? 0 : key[a] < key[b] ? 1 : -1));
    return order.map((i) => rows[i]);
  }
  return rows;
}

/** Rows [start, end) to render for a scroll position, with `overscan` extra rows on each side. */
export function virtualWindow({ scrollTop, viewportHeight, rowHeight, total, overscan = 5 }) {
  const first = Math.floor(Math.max(0, scrollTop) / rowHeight);
  const visible = Math.ceil(Math.max(0, viewportHeight) / rowHeight) + 1;
  const start = Math.max(0, Math.min(total, first - overscan));
  const end = Math.max(start, Math.min(total, first + visible + overscan));
  return { start, end, offsetTop: start * rowHeight, totalHeight: total * rowHeight };
}

/** New active row index for a navigation key, or null when the key is not one of ours. */
export function moveActive(key, active, total, pageRows) {
  if (total === 0) return null;
  const current = active < 0 ? -1 : Math.min(active, total - 1);
  switch (key) {
    case 'ArrowDown':
      return Math.min(total - 1, current + 1);
    case 'ArrowUp':
      return Math.max(0, current - 1);
    case 'PageDown':
      return Math.min(total - 1, Math.max(0, current) + pageRows);
    case 'PageUp':
      return Math.max(0, current - pageRows);
    case 'Home':
      return 0;
    case 'End':
      return total - 1;
    default:
      return null;
  }
}

/**
 * Binds the list to its elements: `search` (input), `statusFilter` and `sort` (selects),
 * `count` (text), `viewport` (the scrolling listbox). `onSelect(id)` when a row is chosen.
 * `refresh()` recomputes the rows (call it when the store changed); `setSelected(id)` marks a row.
 */
export function createVehicleList({ elements, store, onSelect, rowHeight = 28 }) {
  const { search, statusFilter, sort, count, viewport } = elements;
  const doc = viewport.ownerDocument;
  const spacer = doc.createElement('div');
  spacer.className = 'vlist-spacer';
  spacer.setAttribute('role', 'presentation');
  viewport.replaceChildren(spacer);
  viewport.setAttribute('role', 'listbox');
  viewport.tabIndex = 0;

  const cache = {};
  let rows = [];
  let active = -1;
  let selected = null;
  const rendered = new Map();

  function optionId(index) {
    return `vehicle-option-${index}`;
  }

  function renderRow(el, index) {
    const id = rows[index];
    const state = store.state(id) ?? 'offline';
    el.id = optionId(index);
    el.dataset.vehicleId = id;
    el.dataset.index = String(index);
    el.dataset.state = state;
    el.setAttribute('aria-selected', String(id === selected));
    el.classList.toggle('active', index === active);
    el.style.top = `${index * rowHeight}px`;
    const [name, age] = el.children;
    name.textContent = id;
    age.textContent = formatAge(store.ageMs(id));
    el.title = `${id} (${state})`;
  }

  function makeRow() {
    const el = doc.createElement('div');
    el.setAttribute('role', 'option');
    el.className = 'vlist-row';
    el.style.height = `${rowHeight}px`;
    const name = doc.createElement('span');
    name.className = 'vlist-name';
    const age = doc.createElement('span');
    age.className = 'vlist-age';
    el.append(name, age);
    return el;
  }

  function draw() {
    const win = virtualWindow({
      scrollTop: viewport.scrollTop,
      viewportHeight: viewport.clientHeight || rowHeight * 10,
      rowHeight,
      total: rows.length,
    });
    spacer.style.height = `${win.totalHeight}px`;
    for (const [index, el] of rendered) {
      if (index < win.start || index >= win.end) {
        el.remove();
        rendered.delete(index);
      }
    }
    for (let i = win.start; i < win.end; i += 1) {
      let el = rendered.get(i);
      if (!el) {
        el = makeRow();
        rendered.set(i, el);
        spacer.append(el);
      }
      renderRow(el, i);
    }
    if (active >= 0 && active < rows.length) viewport.setAttribute('aria-activedescendant', optionId(active));
    else viewport.removeAttribute('aria-activedescendant');
  }

  function refresh() {
    const activeId = active >= 0 ? rows[active] : null;
    rows = listRows(store, { query: search.value, status: statusFilter.value, sort: sort.value }, cache);
    // Only one id is looked up, so a scan beats an index of every row; usually it has not moved.
    if (activeId === null) active = -1;
    else if (rows[active] !== activeId) active = rows.indexOf(activeId);
    count.textContent = `${rows.length} of ${store.size}`;
    draw();
  }

  function scrollIntoView(index) {
    const top = index * rowHeight;
    const height = viewport.clientHeight || rowHeight * 10;
    if (top < viewport.scrollTop) viewport.scrollTop = top;
    else if (top + rowHeight > viewport.scrollTop + height) viewport.scrollTop = top + rowHeight - height;
  }

  function setActive(index) {
    active = index;
    scrollIntoView(index);
    draw();
  }

  viewport.addEventListener('scroll', draw);
  viewport.addEventListener('keydown', (event) => {
    const pageRows = Math.max(1, Math.floor((viewport.clientHeight || rowHeight * 10) / rowHeight) - 1);
    const next = moveActive(event.key, active, rows.length, pageRows);
    if (next !== null) {
      event.preventDefault();
      setActive(next);
      return;
    }
    if ((event.key === 'Enter' || event.key === ' ') && active >= 0) {
      event.preventDefault();
      onSelect(rows[active]);
    }
  });
  viewport.addEventListener('click', (event) => {
    const row = event.target.closest('[data-vehicle-id]');
    if (!row) return;
    const index = Number(row.dataset.index);
    if (rows[index] === row.dataset.vehicleId) active = index;
    onSelect(row.dataset.vehicleId);
  });
  for (const control of [statusFilter, sort]) control.addEventListener('change', refresh);
  search.addEventListener('input', refresh);
  search.addEventListener('keydown', (event) => {
    if (event.key === 'ArrowDown' && rows.length > 0) {
      event.preventDefault();
      viewport.focus();
      setActive(0);
    } else if (event.key === 'Enter' && rows.length > 0) {
      event.preventDefault();
      onSelect(rows[0]);
    }
  });

  return {
    refresh,
    setSelected(id) {
      selected = id;
      const index = id === null ? -1 : rows.indexOf(id);
      if (index >= 0) {
        active = index;
        scrollIntoView(index);
      }
      draw();
    },
    get rows() {
      return rows;
    },
  };
}
