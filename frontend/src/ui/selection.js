// The selected vehicle and follow mode: picks on the map and rows of the list select; the details
// panel shows the selection; follow keeps the map centred on it until turned off, Escape, or a drag.

/** Whether following should move the map: the vehicle moved further than `minPx` on screen. */
export function shouldRecentre(pixel, center, minPx = 2) {
  if (!pixel || !center) return true;
  return Math.hypot(pixel[0] - center[0], pixel[1] - center[1]) >= minPx;
}

/**
 * store: get/ageMs/state; renderer: setSelected, easeTo, flyTo, pixelOf, getView;
 * details: show/hide/setFollow; list: setSelected. onChange({vehicle, follow}) for the URL.
 */
export function createSelection({ store, renderer, details, list, announce, onChange }) {
  let selected = null;
  let follow = false;

  function render() {
    if (selected === null) {
      details.hide();
      return;
    }
    details.show(selected, store.get(selected), store.ageMs(selected), store.state(selected));
  }

  function setFollow(on, { silent = false } = {}) {
    const next = Boolean(on) && selected !== null;
    if (next === follow) return;
    follow = next;
    details.setFollow(follow);
    if (!silent) announce(follow ? `following ${selected}` : 'follow off');
    if (follow) recentre(true);
    onChange({ vehicle: selected, follow });
  }

  function recentre(force) {
    const point = selected === null ? null : store.get(selected);
    if (!point) return;
    const view = renderer.getView();
    const center = renderer.pixelOf(view.lon, view.lat);
    if (force || shouldRecentre(renderer.pixelOf(point.lon, point.lat), center)) {
      renderer.easeTo({ lon: point.lon, lat: point.lat });
    }
  }

  function select(id, { fly = false, silent = false } = {}) {
    const next = id ?? null;
    if (next !== selected) {
      if (follow) setFollow(false, { silent: true });
      selected = next;
      renderer.setSelected(selected);
      list.setSelected(selected);
      if (!silent) announce(selected === null ? 'selection cleared' : `selected ${selected}`);
      onChange({ vehicle: selected, follow });
    }
    render();
    const point = selected === null ? null : store.get(selected);
    if (fly && point) renderer.flyTo({ lon: point.lon, lat: point.lat, zoom: Math.max(renderer.getView().zoom, 14) });
  }

  return {
    select,
    setFollow,
    /** Called on every store change and at the UI's pace: details text, follow. */
    refresh() {
      if (selected === null) return;
      render();
      if (follow) recentre(false);
    },
    zoomTo() {
      const point = selected === null ? null : store.get(selected);
      if (point) renderer.flyTo({ lon: point.lon, lat: point.lat, zoom: Math.max(renderer.getView().zoom, 15) });
    },
    get selected() {
      return selected;
    },
    get following() {
      return follow;
    },
  };
}
