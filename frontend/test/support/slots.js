// A vehicle store's slot arrays for the given [lon, lat] points; the slots in `hidden` draw nothing.
export function slotData(points, hidden = []) {
  const positions = new Float32Array(2 * points.length);
  const shapes = new Float32Array(points.length).fill(1);
  points.forEach(([lon, lat], i) => {
    positions[2 * i] = lon;
    positions[2 * i + 1] = lat;
  });
  for (const i of hidden) shapes[i] = 0;
  return { positions, shapes, slots: points.length };
}
