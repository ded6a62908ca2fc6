// The density grid's cells (density.js): one instanced square per non-empty cell, a fixed size in
// deck.gl common units (so it stays glued to the map), flat colours, no texture, not pickable.

import { Layer, project32 } from '@deck.gl/core';
import { Geometry, Model } from '@luma.gl/engine';

const uniformBlock = /* glsl */ `\
layout(std140) uniform densityUniforms {
  float halfSize;
} density;
`;

const densityUniforms = {
  name: 'density',
  vs: uniformBlock,
  fs: '',
  source: '',
  uniformTypes: { halfSize: 'f32' },
};

const vs = /* glsl */ `\
#version 300 es
#define SHADER_NAME density-layer-vertex-shader
in vec2 positions;
in vec2 instancePositions;
in vec4 instanceColors;
out vec4 vColor;

void main(void) {
  geometry.worldPosition = vec3(instancePositions, 0.0);
  // Drawn at 94 % of the cell: a thin gap between neighbours.
  vec3 offset = vec3(positions * density.halfSize * 0.94, 0.0);
  gl_Position = project_position_to_clipspace(vec3(instancePositions, 0.0), vec3(0.0), offset, geometry.position);
  DECKGL_FILTER_GL_POSITION(gl_Position, geometry);
  vColor = vec4(instanceColors.rgb, instanceColors.a * layer.opacity);
  DECKGL_FILTER_COLOR(vColor, geometry);
}
`;

const fs = /* glsl */ `\
#version 300 es
#define SHADER_NAME density-layer-fragment-shader
precision highp float;
in vec4 vColor;
out vec4 fragColor;

void main(void) {
  fragColor = vColor;
  DECKGL_FILTER_COLOR(fragColor, geometry);
}
`;

const defaultProps = {
  getPosition: { type: 'accessor', value: [0, 0] },
  getColor: { type: 'accessor', value: [0, 0, 0, 255] },
  halfSize: { type: 'number', value: 1 },
};

export class DensityLayer extends Layer {
  getShaders() {
    return super.getShaders({ vs, fs, modules: [project32, densityUniforms] });
  }

  initializeState() {
    this.getAttributeManager().addInstanced({
      instancePositions: { size: 2, type: 'float32', accessor: 'getPosition' },
      instanceColors: { size: 4, type: 'unorm8', accessor: 'getColor', defaultValue: [0, 0, 0, 255] },
    });
  }

  updateState(params) {
    super.updateState(params);
    if (!this.state.model) {
      this.state.model = new Model(this.context.device, {
        ...this.getShaders(),
        id: this.props.id,
        bufferLayout: this.getAttributeManager().getBufferLayouts(),
        geometry: new Geometry({
          topology: 'triangle-strip',
          attributes: { positions: { size: 2, value: new Float32Array([1, -1, 1, 1, -1, -1, -1, 1]) } },
        }),
        isInstanced: true,
      });
      this.getAttributeManager().invalidateAll();
    }
  }

  draw() {
    const model = this.state.model;
    model.shaderInputs.setProps({ density: { halfSize: this.props.halfSize } });
    model.draw(this.context.renderPass);
  }
}

DensityLayer.layerName = 'DensityLayer';
DensityLayer.defaultProps = defaultProps;
