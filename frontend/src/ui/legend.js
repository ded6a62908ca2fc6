// The legend: what a marker's shape and shade mean, with the thresholds of this deployment.

import { formatDuration } from '../lib/format.js';

export function legendItems({ staleSeconds, offlineSeconds }) {
  return [
    { key: 'heading', swatch: 'arrow', text: 'vehicle, pointing to its heading' },
    { key: 'no-heading', swatch: 'dot', text: 'vehicle without a heading' },
    { key: 'live', swatch: 'live', text: `live: seen in the last ${formatDuration(staleSeconds)}` },
    { key: 'stale', swatch: 'stale', text: `stale: silent for over ${formatDuration(staleSeconds)}` },
    { key: 'offline', swatch: 'offline', text: `offline: silent for over ${formatDuration(offlineSeconds)}` },
    { key: 'selected', swatch: 'selected', text: 'selected vehicle' },
  ];
}

/** Fills `list` (a <ul>) with the legend's items. */
export function renderLegend(list, config) {
  const doc = list.ownerDocument;
  list.replaceChildren(
    ...legendItems(config).map((item) => {
      const li = doc.createElement('li');
      li.dataset.legend = item.key;
      const swatch = doc.createElement('span');
      swatch.className = `swatch swatch-${item.swatch}`;
      swatch.setAttribute('aria-hidden', 'true');
      li.append(swatch, doc.createTextNode(item.text));
      return li;
    }),
  );
}
