// The arrow icon, drawn on a canvas at start-up: a mask pointing north, tinted per vehicle by
// getColor and turned by getAngle in the map plane (so it stays right when the map is rotated).

const CELL = 64;

export function createArrowAtlas() {
  const canvas = document.createElement('canvas');
  canvas.width = CELL;
  canvas.height = CELL;
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#fff';
  ctx.beginPath();
  ctx.moveTo(CELL / 2, 4);
  ctx.lineTo(CELL - 10, CELL - 6);
  ctx.lineTo(CELL / 2, CELL - 20);
  ctx.lineTo(10, CELL - 6);
  ctx.closePath();
  ctx.fill();
  return {
    atlas: canvas,
    mapping: { arrow: { x: 0, y: 0, width: CELL, height: CELL, anchorX: CELL / 2, anchorY: CELL / 2, mask: true } },
  };
}
