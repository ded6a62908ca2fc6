// deck.gl layer factories. Live vehicles are binary attributes indexed by store slot (picking
// index = slot = vehicle); the data objects are kept between frames so that deck.gl only uploads
// the attributes whose descriptor objects changed.

import { ScreenGridLayer } from '@deck.gl/aggregation-layers';
import { TripsLayer } from '@deck.gl/geo-layers';
import { IconLayer, LineLayer, ScatterplotLayer } from '@deck.gl/layers';

export const LIVE_LAYER_IDS = Object.freeze({ arrows: 'live-arrows', dots: 'live-dots' });

export function arrowsLayer(data, icons, { visible, revision }) {
  return new IconLayer({
    id: LIVE_LAYER_IDS.arrows,
    visible,
    data,
    revision,
    iconAtlas: icons.atlas,
    iconMapping: icons.mapping,
    getIcon: () => 'arrow',
    sizeUnits: 'pixels',
    // In the map plane: the angle is relative to north, so arrows stay right when the map rotates or tilts.
    billboard: false,
    pickable: true,
    autoHighlight: true,
    highlightColor: [255, 255, 255, 200],
  });
}

export function dotsLayer(data, { visible, revision }) {
  return new ScatterplotLayer({
    id: LIVE_LAYER_IDS.dots,
    visible,
    data,
    revision,
    radiusUnits: 'pixels',
    // Round on screen whatever the pitch (a dot has no direction to keep).
    billboard: true,
    stroked: true,
    filled: true,
    lineWidthUnits: 'pixels',
    getLineWidth: 1.5,
    pickable: true,
    autoHighlight: true,
    highlightColor: [255, 255, 255, 200],
  });
}

export function densityLayer(data, { visible, revision }) {
  return new ScreenGridLayer({
    id: 'live-density',
    visible,
    data,
    revision,
    cellSizePixels: 16,
    cellMarginPixels: 1,
    colorRange: [
      [40, 90, 160, 180],
      [30, 150, 200, 200],
      [60, 200, 170, 210],
      [220, 220, 90, 220],
      [250, 160, 50, 230],
      [240, 70, 50, 240],
    ],
    pickable: false,
  });
}

export function trailsLayer(trails, visible) {
  return new LineLayer({
    id: 'live-trails',
    visible,
    data: {
      length: trails.length,
      attributes: {
        getSourcePosition: { value: trails.sources, size: 2 },
        getTargetPosition: { value: trails.targets, size: 2 },
        getColor: { value: trails.colors, size: 4, normalized: true },
      },
    },
    getWidth: 2,
    widthUnits: 'pixels',
    pickable: false,
  });
}

export function selectionLayer(position) {
  return new ScatterplotLayer({
    id: 'live-selection',
    data: position ? [position] : [],
    getPosition: (d) => d,
    radiusUnits: 'pixels',
    getRadius: 14,
    filled: false,
    stroked: true,
    lineWidthUnits: 'pixels',
    getLineWidth: 3,
    getLineColor: [255, 255, 255, 255],
    pickable: false,
  });
}

export function tripsLayer(history, visible) {
  return new TripsLayer({
    id: 'history-trips',
    visible,
    data: history.trips,
    getPath: (d) => d.path,
    getTimestamps: (d) => d.timestamps,
    getColor: (d) => d.color,
    currentTime: history.currentTime,
    trailLength: history.trailLength,
    fadeTrail: true,
    widthUnits: 'pixels',
    getWidth: 3,
    capRounded: true,
    jointRounded: true,
    pickable: true,
  });
}

export function headsLayer(heads, visible) {
  return new ScatterplotLayer({
    id: 'history-heads',
    visible,
    data: {
      length: heads.length,
      attributes: {
        getPosition: { value: heads.positions, size: 2 },
        getFillColor: { value: heads.colors, size: 4, normalized: true },
      },
    },
    radiusUnits: 'pixels',
    getRadius: 5,
    stroked: true,
    lineWidthUnits: 'pixels',
    getLineWidth: 1,
    getLineColor: [255, 255, 255, 220],
    pickable: true,
  });
}
