// Every live vehicle in one instanced draw: an arrow (two triangles, no texture) turned to its
// heading in the map plane, or a round dot (vehicle without heading) or a hollow ring (offline).
// Sizes are in pixels and shrink as the map zooms out (sizesForZoom). Positions are float32
// lon/lat (sub-metre everywhere; no 64-bit split or conversion on the CPU), written in place by
// vehicle-attributes.js and handed over as binary attributes. Optionally each vehicle glides from
// where it was drawn when a fix arrived to the fix itself (GPU interpolation: one time uniform).

import { Layer, picking, project32 } from '@deck.gl/core';
import { Geometry, Model } from '@luma.gl/engine';

/** Shape codes of the `instanceShapes` attribute. */
export const SHAPE = Object.freeze({ hidden: 0, arrow: 1, dot: 2, ring: 3 });

/** Arrow half-length and dot radius (pixels) at a zoom: full size from zoom 15, half at zoom 11. */
export function sizesForZoom(zoom) {
  const scale = Math.min(1, Math.max(0.4, 0.5 + (zoom - 11) * 0.125));
  return { arrowPixels: 9 * scale, dotPixels: 5.5 * scale };
}

const uniformBlock = /* glsl */ `\
layout(std140) uniform vehiclesUniforms {
  float arrowPixels;
  float dotPixels;
  float time;
  float interpolate;
} vehicles;
`;

const vehicleUniforms = {
  name: 'vehicles',
  vs: uniformBlock,
  fs: '',
  source: '',
  uniformTypes: { arrowPixels: 'f32', dotPixels: 'f32', time: 'f32', interpolate: 'f32' },
};

const vs = /* glsl */ `\
#version 300 es
#define SHADER_NAME vehicle-layer-vertex-shader
// xy: corner of the arrow; zw: corner of the dot's square (the same triangle strip).
in vec4 positions;
in vec2 instancePositions;
in vec2 instancePrevPositions;
in vec2 instanceTimes;
in float instanceAngles;
in vec4 instanceColors;
in float instanceShapes;
out vec4 vColor;
out vec2 vUnit;
out float vShape;

void main(void) {
  vShape = instanceShapes;
  if (instanceShapes < 0.5) {
    // Hidden (free slot): every corner at one point, nothing is rasterised.
    gl_Position = vec4(0.0, 0.0, -2.0, 1.0);
    vColor = vec4(0.0);
    vUnit = vec2(0.0);
    return;
  }
  vec2 position = instancePositions;
  if (vehicles.interpolate > 0.5 && instanceTimes.y > instanceTimes.x) {
    float t = clamp((vehicles.time - instanceTimes.x) / (instanceTimes.y - instanceTimes.x), 0.0, 1.0);
    position = mix(instancePrevPositions, instancePositions, t);
  }
  geometry.worldPosition = vec3(position, 0.0);
  geometry.pickingColor = picking_getPickingColorFromInstanceID();
  vec2 offsetPixels;
  if (instanceShapes < 1.5) {
    // Heading: degrees clockwise from north; the arrow's tip is +y (north) in common space.
    float a = radians(instanceAngles);
    float c = cos(a);
    float s = sin(a);
    vec2 corner = positions.xy * vehicles.arrowPixels;
    offsetPixels = vec2(corner.x * c + corner.y * s, -corner.x * s + corner.y * c);
    vUnit = vec2(0.0);
  } else {
    offsetPixels = positions.zw * vehicles.dotPixels;
    vUnit = positions.zw;
  }
  geometry.uv = vUnit;
  vec3 offset = vec3(project_pixel_size(offsetPixels), 0.0);
  gl_Position = project_position_to_clipspace(vec3(position, 0.0), vec3(0.0), offset, geometry.position);
  DECKGL_FILTER_GL_POSITION(gl_Position, geometry);
  vColor = vec4(instanceColors.rgb, instanceColors.a * layer.opacity);
  DECKGL_FILTER_COLOR(vColor, geometry);
}
`;

const fs = /* glsl */ `\
#version 300 es
#define SHADER_NAME vehicle-layer-fragment-shader
precision highp float;
in vec4 vColor;
in vec2 vUnit;
in float vShape;
out vec4 fragColor;

void main(void) {
  fragColor = vColor;
  if (vShape > 1.5) {
    float d = dot(vUnit, vUnit);
    if (d > 1.0) discard;
    if (vShape > 2.5) {
      // Offline: a hollow ring.
      if (d < 0.4) discard;
    } else if (d > 0.55) {
      // A light rim keeps dots visible on any basemap.
      fragColor = vec4(1.0, 1.0, 1.0, vColor.a * 0.8);
    }
  }
  geometry.uv = vUnit;
  DECKGL_FILTER_COLOR(fragColor, geometry);
}
`;

// Triangle strip: (right back, tip, notch) + (tip, notch, left back) is the arrow; the same four
// vertices' zw are the corners of the dot's square.
const CORNERS = new Float32Array([
  0.72, -0.9, 1, -1,
  0, 1, 1, 1,
  0, -0.45, -1, -1,
  -0.72, -0.9, -1, 1,
]); // prettier-ignore

const defaultProps = {
  getPosition: { type: 'accessor', value: [0, 0] },
  getPrevPosition: { type: 'accessor', value: [0, 0] },
  getTimes: { type: 'accessor', value: [0, 0] },
  getAngle: { type: 'accessor', value: 0 },
  getColor: { type: 'accessor', value: [0, 0, 0, 255] },
  getShape: { type: 'accessor', value: SHAPE.dot },
  arrowPixels: { type: 'number', value: 9 },
  dotPixels: { type: 'number', value: 5.5 },
  // () => seconds on the clock of instanceTimes; read at draw time, so animating needs no new props.
  timeSource: { type: 'function', value: () => 0, compare: false },
  interpolate: false,
};

export class VehicleLayer extends Layer {
  getShaders() {
    return super.getShaders({ vs, fs, modules: [project32, picking, vehicleUniforms] });
  }

  initializeState() {
    this.getAttributeManager().addInstanced({
      instancePositions: { size: 2, type: 'float32', accessor: 'getPosition' },
      instancePrevPositions: { size: 2, type: 'float32', accessor: 'getPrevPosition' },
      instanceTimes: { size: 2, type: 'float32', accessor: 'getTimes' },
      instanceAngles: { size: 1, type: 'float32', accessor: 'getAngle' },
      instanceColors: { size: 4, type: 'unorm8', accessor: 'getColor', defaultValue: [0, 0, 0, 255] },
      instanceShapes: { size: 1, type: 'float32', accessor: 'getShape' },
    });
  }

  updateState(params) {
    super.updateState(params);
    if (!this.state.model) {
      this.state.model = this._getModel();
      this.getAttributeManager().invalidateAll();
    }
  }

  draw() {
    const { arrowPixels, dotPixels, interpolate, timeSource } = this.props;
    const model = this.state.model;
    model.shaderInputs.setProps({
      vehicles: { arrowPixels, dotPixels, time: interpolate ? timeSource() : 0, interpolate: interpolate ? 1 : 0 },
    });
    model.draw(this.context.renderPass);
  }

  _getModel() {
    return new Model(this.context.device, {
      ...this.getShaders(),
      id: this.props.id,
      bufferLayout: this.getAttributeManager().getBufferLayouts(),
      geometry: new Geometry({
        topology: 'triangle-strip',
        attributes: { positions: { size: 4, value: CORNERS } },
      }),
      isInstanced: true,
    });
  }
}

VehicleLayer.layerName = 'VehicleLayer';
VehicleLayer.defaultProps = defaultProps;
