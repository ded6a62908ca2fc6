import { describe, expect, it } from 'vitest';
import { vehicleColor } from '../src/lib/live.js';

describe('vehicleColor', () => {
  it('is stable per id and within 0..255', () => {
    const c = vehicleColor('bus-1');
    expect(vehicleColor('bus-1')).toEqual(c);
    expect(c).toHaveLength(3);
    for (const x of c) {
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThanOrEqual(255);
    }
  });

  it('spreads similar ids over different hues', () => {
    const colors = new Set(Array.from({ length: 20 }, (_, i) => vehicleColor(`veh-${String(i).padStart(3, '0')}`).join(',')));
    expect(colors.size).toBeGreaterThan(15);
  });
});
