import { describe, expect, it } from 'vitest';
import {
  diffIds,
  escapeHtml,
  formatAgo,
  formatDuration,
  formatSpeed,
  formatUtc,
  vehicleTooltipHtml,
  viewportBbox,
} from '../src/lib/format.js';

describe('tooltip text', () => {
  it('escapes HTML in vehicle ids', () => {
    expect(escapeHtml('<img src=x onerror="a">&\'')).toBe('&lt;img src=x onerror=&quot;a&quot;&gt;&amp;&#39;');
    const html = vehicleTooltipHtml({ id: '<b>', ts: 0, speed: 10, heading: 45.4 }, 5000);
    expect(html).toContain('&lt;b&gt;');
    expect(html).not.toContain('<b>');
    expect(html).toContain('36.0 km/h');
    expect(html).toContain('heading: 45°');
    expect(html).toContain('last seen: 5 s ago');
  });

  it('shows unknown speed and no heading when absent', () => {
    const html = vehicleTooltipHtml({ id: 'a', ts: 0 }, 0);
    expect(html).toContain('speed: unknown');
    expect(html).not.toContain('heading');
  });

  it('formats durations and ages', () => {
    expect(formatDuration(59)).toBe('59 s');
    expect(formatDuration(61)).toBe('1 min 1 s');
    expect(formatDuration(3661)).toBe('1 h 1 min');
    expect(formatDuration(90000)).toBe('1 d 1 h');
    expect(formatAgo(0, 0)).toBe('just now');
    expect(formatAgo(10_000, 0)).toBe('in 10 s');
    expect(formatSpeed(Number.NaN)).toBe('unknown');
    expect(formatUtc(Date.UTC(2024, 0, 2, 3, 4, 5, 678))).toBe('2024-01-02T03:04:05Z');
    expect(formatUtc(undefined)).toBe('');
  });
});

describe('viewportBbox', () => {
  it('grows the view by the margin', () => {
    expect(viewportBbox([0, 0, 10, 10], 0.1)).toEqual([-1, -1, 11, 11]);
  });

  it('clamps latitudes', () => {
    expect(viewportBbox([0, 80, 10, 89], 0.5)).toEqual([-5, 75.5, 15, 90]);
  });

  it('sends no filter for a world view or across the antimeridian', () => {
    expect(viewportBbox([-200, -80, 200, 80])).toBeNull();
    expect(viewportBbox([170, 0, 190, 10])).toBeNull();
    expect(viewportBbox([175, 0, 179, 10], 0.5)).toBeNull();
    expect(viewportBbox(null)).toBeNull();
    expect(viewportBbox([0, 0, 0, 0])).toBeNull();
  });
});

describe('diffIds', () => {
  it('lists ids to add and to remove', () => {
    expect(diffIds(['a', 'b'], new Set(['b', 'c']))).toEqual({ added: ['c'], removed: ['a'] });
    expect(diffIds(new Map([['a', 1]]).keys(), [])).toEqual({ added: [], removed: ['a'] });
  });
});
