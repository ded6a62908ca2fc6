// The hover tooltip: a live vehicle's id, speed, heading and age; a replayed trip's vehicle id.

import { escapeHtml, vehicleTooltipHtml } from '../lib/format.js';

/** Tooltip HTML for a hovered object ({kind, id}) or null. */
export function tooltipHtml(picked, store) {
  if (!picked || !picked.id) return null;
  if (picked.kind === 'vehicle') {
    const point = store.get(picked.id);
    return point ? vehicleTooltipHtml({ ...point, id: picked.id }, store.ageMs(picked.id)) : null;
  }
  return `<strong>${escapeHtml(picked.id)}</strong>`;
}

/** Shows `element` next to the hovered object; pixelOf(lon, lat) gives its place on the map. */
export function createTooltip({ element, store, pixelOf }) {
  return {
    show(picked) {
      const html = tooltipHtml(picked, store);
      if (html === null || !Number.isFinite(picked.lon) || !Number.isFinite(picked.lat)) {
        element.hidden = true;
        return;
      }
      const [x, y] = pixelOf(picked.lon, picked.lat);
      element.innerHTML = html;
      element.style.transform = `translate(${Math.round(x + 12)}px, ${Math.round(y + 12)}px)`;
      element.hidden = false;
    },
  };
}
