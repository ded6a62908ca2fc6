// deck.gl layers. Live data goes in as binary attributes (typed arrays built by lib/live.js), so
// a frame of 10k moving vehicles costs a few typed-array fills, not 10k object accessors.

import { IconLayer, LineLayer, ScatterplotLayer } from '@deck.gl/layers';
import { TripsLayer } from '@deck.gl/geo-layers';

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

export function vehiclesLayer(vehicles, icons, visible) {
  const { hasHeading } = vehicles;
  return new IconLayer({
    id: 'live-vehicles',
    visible,
    data: {
      length: vehicles.length,
      attributes: {
        getPosition: { value: vehicles.positions, size: 2 },
        getColor: { value: vehicles.colors, size: 4, normalized: true },
        getAngle: { value: vehicles.angles, size: 1 },
      },
    },
    iconAtlas: icons.atlas,
    iconMapping: icons.mapping,
    getIcon: (_, { index }) => (hasHeading[index] ? 'arrow' : 'dot'),
    getSize: 18,
    sizeUnits: 'pixels',
    billboard: true,
    pickable: true,
    autoHighlight: true,
    highlightColor: [255, 255, 255, 200],
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
    currentTime: history.playback.currentSec,
    trailLength: history.trailLengthSec,
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
