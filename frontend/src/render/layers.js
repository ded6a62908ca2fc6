// deck.gl layer factories. Live vehicles are binary attributes indexed by store slot (picking
// index = slot = vehicle); the data objects are kept between frames so that deck.gl only uploads
// the attributes whose descriptor objects changed.

import { TripsLayer } from '@deck.gl/geo-layers';
import { LineLayer, ScatterplotLayer } from '@deck.gl/layers';
import { DensityLayer } from './density-layer.js';
import { VehicleLayer } from './vehicle-layer.js';

export const LIVE_LAYER_IDS = Object.freeze({ vehicles: 'live-vehicles' });

/** All live vehicles, one point per store slot (vehicle-layer.js). */
export function vehiclesLayer(data, { visible, revision, numInstances, sizes, interpolate, timeSource }) {
  return new VehicleLayer({
    id: LIVE_LAYER_IDS.vehicles,
    visible,
    data,
    // Slots up to the highest one in use (vertices drawn): the arrays may be longer (reserved capacity).
    numInstances,
    revision,
    arrowPixels: sizes.arrowPixels,
    dotPixels: sizes.dotPixels,
    interpolate,
    timeSource,
    pickable: true,
    autoHighlight: true,
    highlightColor: [255, 255, 255, 200],
    // Flat markers on a flat map: no polygon offset, no depth buffer read/write per fragment (software GL).
    getPolygonOffset: null,
    parameters: { depthCompare: 'always', depthWriteEnabled: false },
  });
}

// One deck.gl data object per binning, so layers re-created between binnings upload nothing.
const densityData = new WeakMap();

/** The density grid: binned cells from density.js binDensity(). */
export function densityLayer(cells, { visible }) {
  if (!densityData.has(cells)) {
    densityData.set(cells, {
      length: cells.length,
      attributes: {
        instancePositions: { value: cells.positions, size: 2 },
        instanceColors: { value: cells.colors, size: 4, normalized: true },
      },
    });
  }
  return new DensityLayer({
    id: 'live-density',
    visible,
    data: densityData.get(cells),
    halfSize: cells.halfSize,
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
