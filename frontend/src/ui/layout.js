// Where the panels cover the map, so "fit" and "follow" keep vehicles in the visible part: the
// control panel on the left (a bottom sheet on phones) and the details panel on the right.

/**
 * Map padding in CSS px from the page size and the panels' rectangles ({left, right, top,
 * bottom, width, height} or null when hidden). Never more than 70 % of the map on either axis.
 */
export function mapPadding({ width, height, panel, details, narrow, margin = 40 }) {
  const pad = { top: margin, bottom: margin, left: margin, right: margin };
  if (narrow) {
    const covered = Math.max(panel ? height - panel.top : 0, details ? height - details.top : 0);
    pad.bottom = Math.max(margin, covered + margin);
  } else {
    if (panel) pad.left = Math.max(margin, panel.right + margin);
    if (details) pad.right = Math.max(margin, width - details.left + margin);
  }
  const fit = (a, b, size) => {
    const limit = size * 0.7;
    const total = pad[a] + pad[b];
    if (total > limit && total > 0) {
      pad[a] = Math.floor((pad[a] * limit) / total);
      pad[b] = Math.floor((pad[b] * limit) / total);
    }
  };
  fit('left', 'right', width);
  fit('top', 'bottom', height);
  return pad;
}
