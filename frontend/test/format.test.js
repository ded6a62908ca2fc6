import { describe, expect, it } from 'vitest';
import {
  escapeHtml,
  formatAge,
  formatAltitude,
  formatBattery,
  formatDuration,
  formatHeading,
  formatLocal,
  formatPosition,
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
    expect(html).toContain('heading: 45° NE');
    expect(html).toContain('last seen: 5 s ago');
  });

  it('shows unknown speed and no heading when absent', () => {
    const html = vehicleTooltipHtml({ id: 'a', ts: 0, heading: Number.NaN }, 0);
    expect(html).toContain('speed: unknown');
    expect(html).not.toContain('heading');
  });
});

describe('panel values', () => {
  it('formats durations and server-clock ages', () => {
    expect(formatDuration(59)).toBe('59 s');
    expect(formatDuration(61)).toBe('1 min 1 s');
    expect(formatDuration(3661)).toBe('1 h 1 min');
    expect(formatDuration(90000)).toBe('1 d 1 h');
    expect(formatAge(12_300)).toBe('12 s ago');
    expect(formatAge(125_000)).toBe('2 min 5 s ago');
    expect(formatAge(0)).toBe('just now');
    // A device clock a little ahead of the relay's is not "in the future" for a person.
    expect(formatAge(-3000)).toBe('just now');
    expect(formatAge(undefined)).toBe('unknown');
  });

  it('formats heading with a compass point, altitude, battery and position', () => {
    expect(formatHeading(0)).toBe('0° N');
    expect(formatHeading(359.6)).toBe('0° N');
    expect(formatHeading(226)).toBe('226° SW');
    expect(formatHeading(-90)).toBe('270° W');
    expect(formatHeading(Number.NaN)).toBe('unknown');
    expect(formatAltitude(123.4)).toBe('123 m');
    expect(formatAltitude(null)).toBe('unknown');
    expect(formatBattery(87.6)).toBe('88 %');
    expect(formatBattery(Number.NaN)).toBe('unknown');
    expect(formatPosition(2.3522, 48.8566)).toBe('48.85660° N, 2.35220° E');
    expect(formatPosition(-70.5, -33.25)).toBe('33.25000° S, 70.50000° W');
    expect(formatPosition(undefined, 1)).toBe('unknown');
    expect(formatSpeed(Number.NaN)).toBe('unknown');
  });

  it('shows times in a given zone and in UTC', () => {
    const t = Date.UTC(2024, 0, 2, 3, 4, 5, 678);
    expect(formatUtc(t)).toBe('2024-01-02T03:04:05Z');
    expect(formatUtc(undefined)).toBe('');
    expect(formatLocal(t, 'UTC')).toBe('2024-01-02 03:04:05 UTC');
    expect(formatLocal(t, 'Asia/Tokyo')).toBe('2024-01-02 12:04:05 GMT+9');
    expect(formatLocal(Date.UTC(2024, 6, 1, 23, 30), 'America/New_York')).toBe('2024-07-01 19:30:00 EDT');
    expect(formatLocal(Number.NaN)).toBe('');
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
