import { describe, expect, it } from 'vitest';
import {
  DEFAULT_BASEMAP,
  createBasemapWatchdog,
  offlineStyle,
  parseBasemapSetting,
  unwrapRing,
  vectorPmtilesStyle,
  xyzStyle,
} from '../src/basemap.js';

describe('parseBasemapSetting', () => {
  it.each([
    [undefined, { kind: 'style', url: DEFAULT_BASEMAP }],
    ['', { kind: 'style', url: DEFAULT_BASEMAP }],
    ['offline', { kind: 'offline' }],
    ['OFFLINE', { kind: 'offline' }],
    ['https://maps.example/style.json', { kind: 'style', url: 'https://maps.example/style.json' }],
    ['https://tile.example/{z}/{x}/{y}.png', { kind: 'xyz', url: 'https://tile.example/{z}/{x}/{y}.png' }],
    ['pmtiles://https://files.example/city.pmtiles', { kind: 'pmtiles', url: 'https://files.example/city.pmtiles' }],
    ['/tiles/city.pmtiles?v=2', { kind: 'pmtiles', url: '/tiles/city.pmtiles?v=2' }],
  ])('%j -> %j', (value, expected) => {
    expect(parseBasemapSetting(value)).toEqual(expected);
  });
});

describe('styles', () => {
  it('expands {a,b,c} subdomains of an XYZ template and keeps the attribution', () => {
    const style = xyzStyle('https://{a,b}.tile.example/{z}/{x}/{y}.png', '© Example');
    expect(style.sources.basemap.tiles).toEqual(['https://a.tile.example/{z}/{x}/{y}.png', 'https://b.tile.example/{z}/{x}/{y}.png']);
    expect(style.sources.basemap.attribution).toBe('© Example');
    expect(xyzStyle('https://t.example/{z}/{x}/{y}.png').sources.basemap.attribution).toMatch(/OpenStreetMap/);
  });

  it('drops label layers of a vector PMTiles style unless glyphs are configured', () => {
    const layers = [
      { id: 'earth', type: 'fill' },
      { id: 'labels', type: 'symbol' },
    ];
    expect(vectorPmtilesStyle('/a.pmtiles', layers).layers.map((l) => l.id)).toEqual(['earth']);
    const withGlyphs = vectorPmtilesStyle('/a.pmtiles', layers, { glyphs: '/fonts/{fontstack}/{range}.pbf' });
    expect(withGlyphs.layers).toHaveLength(2);
    expect(withGlyphs.sources.protomaps.url).toBe('pmtiles:///a.pmtiles');
  });

  it('builds the offline style from countries, with attribution', () => {
    const countries = {
      type: 'FeatureCollection',
      features: [{ type: 'Feature', geometry: { type: 'Polygon', coordinates: [[[0, 0], [1, 0], [1, 1], [0, 0]]] } }],
    };
    const style = offlineStyle(countries);
    expect(style.layers.map((l) => l.type)).toEqual(['background', 'fill', 'line']);
    expect(style.sources.countries.data.features).toHaveLength(1);
    expect(style.sources.countries.attribution).toMatch(/Natural Earth/);
  });
});

describe('unwrapRing', () => {
  it('continues a ring across the antimeridian instead of spanning the globe', () => {
    const fiji = [[179, -16], [-179.5, -16], [-179.5, -17], [179, -17], [179, -16]];
    expect(unwrapRing(fiji)).toEqual([[179, -16], [180.5, -16], [180.5, -17], [179, -17], [179, -16]]);
  });

  it('leaves ordinary rings and rings round a pole unchanged', () => {
    const square = [[0, 0], [1, 0], [1, 1], [0, 0]];
    expect(unwrapRing(square)).toBe(square);
    const antarctica = [[-180, -85], [-60, -80], [60, -80], [180, -85], [180, -90], [-180, -90], [-180, -85]];
    expect(unwrapRing(antarctica)).toBe(antarctica);
  });
});

describe('basemap watchdog', () => {
  it('falls back when the style fails before it loaded', () => {
    const w = createBasemapWatchdog();
    expect(w.error('Failed to fetch')).toEqual({ action: 'fallback', reason: 'style failed: Failed to fetch' });
    expect(w.error('again')).toBeNull();
    expect(w.decided).toMatch(/style failed/);
  });

  it('falls back when tiles keep failing and none loaded', () => {
    const w = createBasemapWatchdog({ maxTileErrors: 2 });
    w.styleLoaded();
    expect(w.error('tile', { isTile: true })).toBeNull();
    expect(w.error('tile', { isTile: true })).toMatchObject({ action: 'fallback' });
  });

  it('keeps a basemap whose tiles load, even if some fail', () => {
    const w = createBasemapWatchdog({ maxTileErrors: 1 });
    w.styleLoaded();
    w.tileLoaded();
    expect(w.error('tile', { isTile: true })).toBeNull();
    expect(w.timeout()).toBeNull();
  });

  it('falls back on the timeout when nothing usable arrived', () => {
    expect(createBasemapWatchdog().timeout()).toMatchObject({ reason: 'style did not load in time' });
    const w = createBasemapWatchdog();
    w.styleLoaded();
    expect(w.timeout()).toMatchObject({ reason: 'no tile loaded in time' });
  });
});
