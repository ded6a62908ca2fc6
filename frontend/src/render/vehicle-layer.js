// Every live vehicle as ONE vertex of one non-instanced point draw: an arrow turned to its heading
// in the map plane, a round dot (vehicle without heading) or a hollow ring (offline), cut out of
// the point's square in the fragment shader. On software GL (Mesa llvmpipe) an instanced draw runs
// the whole vertex pipeline once per instance; one point per vehicle is shaded in batches instead
// (frontend/README.md, "Performance"). Sizes are in pixels and shrink as the map zooms out
// (sizesForZoom). Positions are float32 lon/lat written in place by vehicle-attributes.js.
// Optionally each vehicle glides from where it was drawn when a fix arrived to the fix itself (GPU
// interpolation: one time uniform). Only the vehicles in or near the view are drawn: an element
// array of their slots (in-view-index.js). Picking: the vertex index (= store slot, also in an
// indexed draw) is the picking colour.

import { Layer, picking, project32 } from '@deck.gl/core';
import { Buffer } from '@luma.gl/core';
import { Model } from '@luma.gl/engine';
import { createInViewIndex } from './in-view-index.js';

/** Shape codes of the `shapes` attribute. */
export const SHAPE = Object.freeze({ hidden: 0, arrow: 1, dot: 2, ring: 3 });

/**
 * The arrow in its own units (tip at +y = heading, length 1.9, pivot at the vehicle): tip (0, 1),
 * back corners (±backX, backY), notch (0, notchY).
 */
export const ARROW = Object.freeze({ tipY: 1, backX: 0.72, backY: -0.9, notchY: -0.45 });

// WebGL guarantees point sizes up to 1 px only; every GL here allows far more (llvmpipe 255).
const FALLBACK_MAX_POINT_SIZE = 64;

/** Arrow half-length and dot radius (pixels) at a zoom: full size from zoom 15, half at zoom 11. */
export function sizesForZoom(zoom) {
  const scale = Math.min(1, Math.max(0.4, 0.5 + (zoom - 11) * 0.125));
  return { arrowPixels: 9 * scale, dotPixels: 5.5 * scale };
}

/**
 * Half the side of the smallest screen-aligned square around the vehicle that holds the arrow
 * pointing along the unit screen direction (dx, dy), in arrow units (the vertex shader's rule).
 */
export function arrowHalfExtent(dx, dy) {
  // Arrow axes on screen: y along the heading, x to its right.
  const rx = dy;
  const ry = -dx;
  const { backX, backY, tipY } = ARROW;
  const corners = [
    [tipY * dx, tipY * dy],
    [backX * rx + backY * dx, backX * ry + backY * dy],
    [-backX * rx + backY * dx, -backX * ry + backY * dy],
  ];
  return Math.max(...corners.map(([x, y]) => Math.max(Math.abs(x), Math.abs(y))));
}

/** Whether a point (arrow units, y along the heading) lies inside the arrow (the fragment shader's rule). */
export function insideArrow(x, y) {
  const { backX, backY, tipY, notchY } = ARROW;
  const ax = Math.abs(x);
  return y <= tipY - (ax * (tipY - backY)) / backX && y >= notchY - (ax * (notchY - backY)) / backX;
}

/**
 * Point side (device pixels) and the half side in marker units it spans, for a marker of
 * `halfUnits` marker units at `unitPixels` CSS pixels per unit: whole pixels, capped at `maxSide`
 * (the GL's ALIASED_POINT_SIZE_RANGE), the marker shrunk to fit when capped.
 */
export function pointSize(halfUnits, unitPixels, devicePixelRatio, maxSide) {
  let unit = unitPixels * devicePixelRatio;
  let side = Math.ceil(2 * halfUnits * unit);
  if (side > maxSide) {
    side = maxSide;
    unit = side / (2 * halfUnits);
  }
  return { side, halfUnits: side / (2 * unit) };
}

const f = (x) => x.toFixed(4);

/**
 * deck.gl's picking module with its one varying `flat`: a point's picking colour and highlight flag
 * are the same over the whole point, and llvmpipe interpolates a smooth varying at every fragment.
 */
export const flatPicking = {
  ...picking,
  vs: picking.vs.replace('out vec4 picking_vRGBcolor_Avalid', 'flat out vec4 picking_vRGBcolor_Avalid'),
  fs: picking.fs.replace('in vec4 picking_vRGBcolor_Avalid', 'flat in vec4 picking_vRGBcolor_Avalid'),
};

const uniformBlock = /* glsl */ `\
layout(std140) uniform vehiclesUniforms {
  float arrowPixels;
  float dotPixels;
  float time;
  float interpolate;
  float maxPointSize;
} vehicles;
`;

const vehicleUniforms = {
  name: 'vehicles',
  vs: uniformBlock,
  fs: '',
  source: '',
  uniformTypes: { arrowPixels: 'f32', dotPixels: 'f32', time: 'f32', interpolate: 'f32', maxPointSize: 'f32' },
};

const vs = /* glsl */ `\
#version 300 es
#define SHADER_NAME vehicle-layer-vertex-shader
in vec2 positions;
in vec2 prevPositions;
in vec2 times;
in float angles;
in vec4 colors;
in float shapes;
flat out vec4 vColor;
// xy: the heading on screen (unit vector, y up); z: the point's half side in marker units; w: the
// shape. Every varying is flat: constant over the point, nothing to interpolate per fragment.
flat out vec4 vMarker;

void main(void) {
  vMarker = vec4(0.0, 1.0, 1.0, shapes);
  if (shapes < 0.5) {
    // Free slot: outside the near plane, so the point is clipped.
    gl_Position = vec4(0.0, 0.0, -2.0, 1.0);
    gl_PointSize = 0.0;
    vColor = vec4(0.0);
    return;
  }
  vec2 position = positions;
  if (vehicles.interpolate > 0.5 && times.y > times.x) {
    float t = clamp((vehicles.time - times.x) / (times.y - times.x), 0.0, 1.0);
    position = mix(prevPositions, positions, t);
  }
  geometry.worldPosition = vec3(position, 0.0);
  geometry.pickingColor = picking_getPickingColorFromIndex(float(gl_VertexID));
  geometry.uv = vec2(0.0);
  gl_Position = project_position_to_clipspace(vec3(position, 0.0), vec3(0.0), vec3(0.0), geometry.position);

  float halfUnits = 1.0;
  float unitPixels = vehicles.dotPixels;
  if (shapes < 1.5) {
    // The heading's direction on screen: project a one-pixel step along it in the map plane
    // (heading in degrees clockwise from north; common space has north at +y).
    float a = radians(angles);
    vec2 step = project_pixel_size(vec2(sin(a), cos(a)));
    vec4 ahead = project_common_position_to_clipspace(geometry.position + vec4(step, 0.0, 0.0));
    vec2 d = (ahead.xy / ahead.w - gl_Position.xy / gl_Position.w) * project.viewportSize;
    float len = length(d);
    vec2 axis = len > 1e-6 ? d / len : vec2(0.0, 1.0);
    vMarker.xy = axis;
    vec2 right = vec2(axis.y, -axis.x);
    vec2 tip = ${f(ARROW.tipY)} * axis;
    vec2 backRight = ${f(ARROW.backX)} * right + ${f(ARROW.backY)} * axis;
    vec2 backLeft = -${f(ARROW.backX)} * right + ${f(ARROW.backY)} * axis;
    vec2 extent = max(abs(tip), max(abs(backRight), abs(backLeft)));
    halfUnits = max(extent.x, extent.y);
    unitPixels = vehicles.arrowPixels;
  }
  // Whole device pixels, capped by the GL's point size range (the marker shrinks to fit).
  float unit = unitPixels * project.devicePixelRatio;
  float side = ceil(2.0 * halfUnits * unit);
  if (side > vehicles.maxPointSize) {
    side = vehicles.maxPointSize;
    unit = side / (2.0 * halfUnits);
  }
  gl_PointSize = side;
  vMarker.z = side / (2.0 * unit);
  DECKGL_FILTER_GL_POSITION(gl_Position, geometry);
  vColor = vec4(colors.rgb, colors.a * layer.opacity);
  DECKGL_FILTER_COLOR(vColor, geometry);
}
`;

const fs = /* glsl */ `\
#version 300 es
#define SHADER_NAME vehicle-layer-fragment-shader
precision highp float;
flat in vec4 vColor;
flat in vec4 vMarker;
out vec4 fragColor;

void main(void) {
  float shape = vMarker.w;
  if (shape < 0.5) discard;
  // Marker units, y up (gl_PointCoord has y down).
  vec2 q = (gl_PointCoord * 2.0 - 1.0) * vec2(vMarker.z, -vMarker.z);
  fragColor = vColor;
  if (shape < 1.5) {
    vec2 axis = vMarker.xy;
    vec2 p = vec2(dot(q, vec2(axis.y, -axis.x)), dot(q, axis));
    float ax = abs(p.x);
    if (p.y > ${f(ARROW.tipY)} - ax * ${f((ARROW.tipY - ARROW.backY) / ARROW.backX)}) discard;
    if (p.y < ${f(ARROW.notchY)} - ax * ${f((ARROW.notchY - ARROW.backY) / ARROW.backX)}) discard;
  } else {
    float d = dot(q, q);
    if (d > 1.0) discard;
    if (shape > 2.5) {
      // Offline: a hollow ring (a click on its hole still picks it).
      if (d < 0.4 && picking.isActive < 0.5) discard;
    } else if (d > 0.55) {
      // A light rim keeps dots visible on any basemap.
      fragColor = vec4(1.0, 1.0, 1.0, vColor.a * 0.8);
    }
  }
  geometry.uv = q;
  DECKGL_FILTER_COLOR(fragColor, geometry);
}
`;

const defaultProps = {
  getPosition: { type: 'accessor', value: [0, 0] },
  getPrevPosition: { type: 'accessor', value: [0, 0] },
  getTimes: { type: 'accessor', value: [0, 0] },
  getAngle: { type: 'accessor', value: 0 },
  getColor: { type: 'accessor', value: [0, 0, 0, 255] },
  getShape: { type: 'accessor', value: SHAPE.dot },
  arrowPixels: { type: 'number', value: 9 },
  dotPixels: { type: 'number', value: 5.5 },
  // () => seconds on the clock of `times`; read at draw time, so animating needs no new props.
  timeSource: { type: 'function', value: () => 0, compare: false },
  interpolate: false,
  // Bumped by the owner on every data change: the in-view index is rebuilt then.
  revision: 0,
};

export class VehicleLayer extends Layer {
  getShaders() {
    return super.getShaders({ vs, fs, modules: [project32, flatPicking, vehicleUniforms] });
  }

  initializeState() {
    // Per-vertex (not instanced) attributes: one vertex per store slot.
    this.getAttributeManager().add({
      positions: { size: 2, type: 'float32', accessor: 'getPosition' },
      prevPositions: { size: 2, type: 'float32', accessor: 'getPrevPosition' },
      times: { size: 2, type: 'float32', accessor: 'getTimes' },
      angles: { size: 1, type: 'float32', accessor: 'getAngle' },
      colors: { size: 4, type: 'unorm8', accessor: 'getColor', defaultValue: [0, 0, 0, 255] },
      shapes: { size: 1, type: 'float32', accessor: 'getShape' },
    });
    const gl = this.context.device.gl;
    const range = gl ? gl.getParameter(gl.ALIASED_POINT_SIZE_RANGE) : null;
    this.setState({
      maxPointSize: range ? range[1] : FALLBACK_MAX_POINT_SIZE,
      inView: createInViewIndex(),
      indexBuffer: null,
    });
  }

  finalizeState(context) {
    super.finalizeState(context);
    this.state.indexBuffer?.destroy();
  }

  /** Rebuild the element array of the slots in view if the data changed or the view left its box; upload it. */
  _updateIndex() {
    const { data, numInstances, revision, interpolate } = this.props;
    const { inView, model } = this.state;
    const attributes = data.attributes ?? {};
    const positions = attributes.positions?.value;
    const shapes = attributes.shapes?.value;
    if (!positions || !shapes) return 0;
    const slots = Math.min(numInstances ?? shapes.length, shapes.length);
    const prevPositions = interpolate ? (attributes.prevPositions?.value ?? null) : null;
    const bounds = this.context.viewport.getBounds();
    const changed = inView.update(bounds, { positions, shapes, slots, prevPositions }, revision);
    if (!changed) return inView.count;
    let buffer = this.state.indexBuffer;
    if (!buffer || buffer.byteLength < 4 * inView.indices.length) {
      buffer?.destroy();
      buffer = this.context.device.createBuffer({
        usage: Buffer.INDEX | Buffer.COPY_DST,
        indexType: 'uint32',
        byteLength: 4 * inView.indices.length,
      });
      this.state.indexBuffer = buffer;
      model.setIndexBuffer(buffer);
    }
    if (inView.count > 0) buffer.write(inView.indices.subarray(0, inView.count));
    return inView.count;
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
    const { model, maxPointSize } = this.state;
    model.shaderInputs.setProps({
      vehicles: {
        arrowPixels,
        dotPixels,
        time: interpolate ? timeSource() : 0,
        interpolate: interpolate ? 1 : 0,
        maxPointSize,
      },
    });
    const count = this._updateIndex();
    if (count === 0) return;
    model.setVertexCount(count);
    model.draw(this.context.renderPass);
  }

  _getModel() {
    return new Model(this.context.device, {
      ...this.getShaders(),
      id: this.props.id,
      bufferLayout: this.getAttributeManager().getBufferLayouts({ isInstanced: false }),
      topology: 'point-list',
      vertexCount: 0,
      isInstanced: false,
    });
  }
}

VehicleLayer.layerName = 'VehicleLayer';
VehicleLayer.defaultProps = defaultProps;
