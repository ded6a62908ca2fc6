// Icon atlas drawn on a canvas at start-up: an arrow for vehicles with a heading, a dot for
// the others. Both are masks, tinted per vehicle by getColor.

const CELL = 64;

export function createIconAtlas() {
  const canvas = document.createElement('canvas');
  canvas.width = CELL * 2;
  canvas.height = CELL;
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#fff';
  ctx.strokeStyle = 'rgba(255,255,255,0.9)';

  // Arrow pointing up (north); getAngle rotates it.
  ctx.beginPath();
  ctx.moveTo(CELL / 2, 4);
  ctx.lineTo(CELL - 10, CELL - 6);
  ctx.lineTo(CELL / 2, CELL - 20);
  ctx.lineTo(10, CELL - 6);
  ctx.closePath();
  ctx.fill();

  ctx.beginPath();
  ctx.arc(CELL + CELL / 2, CELL / 2, CELL / 2 - 14, 0, Math.PI * 2);
  ctx.fill();

  const mapping = {
    arrow: { x: 0, y: 0, width: CELL, height: CELL, anchorX: CELL / 2, anchorY: CELL / 2, mask: true },
    dot: { x: CELL, y: 0, width: CELL, height: CELL, anchorX: CELL / 2, anchorY: CELL / 2, mask: true },
  };
  return { atlas: canvas, mapping };
}
