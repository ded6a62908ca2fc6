import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  defaultEndpoints,
  fetchConfigFile,
  normalizeApiUrl,
  normalizeWsUrl,
  resolveConfig,
} from '../src/lib/config.js';

const page = (href) => new URL(href);

describe('defaultEndpoints', () => {
  it('uses the page host with the relay and API ports', () => {
    expect(defaultEndpoints(page('http://maps.example.org:8080/'))).toEqual({
      wsUrl: 'ws://maps.example.org:8082',
      apiUrl: 'http://maps.example.org:8083',
    });
  });

  it('switches to secure schemes on https pages', () => {
    expect(defaultEndpoints(page('https://maps.example.org/app/'))).toEqual({
      wsUrl: 'wss://maps.example.org:8082',
      apiUrl: 'https://maps.example.org:8083',
    });
  });

  it('keeps IPv6 literals bracketed', () => {
    expect(defaultEndpoints(page('http://[::1]:8080/')).wsUrl).toBe('ws://[::1]:8082');
  });
});

describe('URL normalisation', () => {
  const loc = page('https://maps.example.org/app/index.html');

  it('accepts ws and http(s) URLs for the relay', () => {
    expect(normalizeWsUrl('ws://relay:8082', loc)).toBe('ws://relay:8082/');
    expect(normalizeWsUrl('https://relay.example.org/ws', loc)).toBe('wss://relay.example.org/ws');
    expect(normalizeWsUrl('http://relay:9000', loc)).toBe('ws://relay:9000/');
  });

  it('resolves a relative relay path against the page', () => {
    expect(normalizeWsUrl('/ws', loc)).toBe('wss://maps.example.org/ws');
  });

  it('rejects other schemes and empty values', () => {
    expect(normalizeWsUrl('ftp://x', loc)).toBeNull();
    expect(normalizeWsUrl('', loc)).toBeNull();
    expect(normalizeWsUrl(42, loc)).toBeNull();
    expect(normalizeApiUrl('ws://x', loc)).toBeNull();
  });

  it('strips trailing slashes, query and fragment from the API base', () => {
    expect(normalizeApiUrl('http://api:8083/', loc)).toBe('http://api:8083');
    expect(normalizeApiUrl('http://api:8083/prefix//?x=1#y', loc)).toBe('http://api:8083/prefix');
    expect(normalizeApiUrl('/trips-api/', loc)).toBe('https://maps.example.org/trips-api');
  });
});

describe('resolveConfig', () => {
  const loc = page('http://10.1.2.3:8080/');

  it('falls back to defaults when config.json is absent', () => {
    const c = resolveConfig({ fileConfig: null, query: new URLSearchParams(), location: loc });
    expect(c.wsUrl).toBe('ws://10.1.2.3:8082');
    expect(c.apiUrl).toBe('http://10.1.2.3:8083');
    expect(c.liveWindowSeconds).toBe(600);
    expect(c.preserveDrawingBuffer).toBe(false);
    expect(c.antialias).toBe(false);
    expect(c.trailMaxVehicles).toBe(2000);
    expect(c.warnings).toEqual([]);
  });

  it('takes URLs from config.json', () => {
    const c = resolveConfig({
      fileConfig: { wsUrl: 'ws://relay.internal:9999', apiUrl: 'http://api.internal:7000/' },
      query: new URLSearchParams(),
      location: loc,
    });
    expect(c.wsUrl).toBe('ws://relay.internal:9999/');
    expect(c.apiUrl).toBe('http://api.internal:7000');
  });

  it('lets query parameters override config.json', () => {
    const c = resolveConfig({
      fileConfig: { wsUrl: 'ws://a:1', liveWindowSeconds: 60 },
      query: new URLSearchParams('wsUrl=ws://b:2&liveWindowSeconds=0&antialias=1&preserveDrawingBuffer=off'),
      location: loc,
    });
    expect(c.wsUrl).toBe('ws://b:2/');
    expect(c.liveWindowSeconds).toBe(0);
    expect(c.antialias).toBe(true);
    expect(c.preserveDrawingBuffer).toBe(false);
  });

  it('reads interpolate (off by default) from config.json and the query', () => {
    expect(resolveConfig({ fileConfig: null, query: null, location: loc }).interpolate).toBe(false);
    expect(resolveConfig({ fileConfig: { interpolate: true }, query: null, location: loc }).interpolate).toBe(true);
    const fromQuery = resolveConfig({ fileConfig: { interpolate: true }, query: new URLSearchParams('interpolate=0'), location: loc });
    expect(fromQuery.interpolate).toBe(false);
    expect(resolveConfig({ fileConfig: null, query: new URLSearchParams('interpolate=1'), location: loc }).interpolate).toBe(true);
    const bad = resolveConfig({ fileConfig: { interpolate: 'sometimes' }, query: null, location: loc });
    expect(bad.interpolate).toBe(false);
    expect(bad.warnings).toEqual(['config.json: interpolate must be a boolean']);
  });

  it('treats empty strings as unset (the container writes them when env vars are empty)', () => {
    const c = resolveConfig({ fileConfig: { wsUrl: '', apiUrl: '' }, query: null, location: loc });
    expect(c.wsUrl).toBe('ws://10.1.2.3:8082');
    expect(c.warnings).toEqual([]);
  });

  it('ignores invalid values with a warning and keeps the default', () => {
    const c = resolveConfig({
      fileConfig: { wsUrl: 'gopher://x', trailPoints: -3, antialias: 'maybe' },
      query: new URLSearchParams('maxVehicles=lots'),
      location: loc,
    });
    expect(c.wsUrl).toBe('ws://10.1.2.3:8082');
    expect(c.trailPoints).toBe(20);
    expect(c.antialias).toBe(false);
    expect(c.maxVehicles).toBe(100000);
    expect(c.warnings).toHaveLength(4);
  });

  it('reads the stale and offline thresholds and keeps offline at or above stale', () => {
    const c = resolveConfig({ fileConfig: null, query: new URLSearchParams(), location: loc });
    expect([c.staleSeconds, c.offlineSeconds]).toEqual([60, 300]);
    const set = resolveConfig({
      fileConfig: { staleSeconds: 5 },
      query: new URLSearchParams('offlineSeconds=20'),
      location: loc,
    });
    expect([set.staleSeconds, set.offlineSeconds]).toEqual([5, 20]);
    const crossed = resolveConfig({ fileConfig: { staleSeconds: 90, offlineSeconds: 30 }, query: null, location: loc });
    expect(crossed.offlineSeconds).toBe(90);
    expect(crossed.warnings[0]).toMatch(/offlineSeconds/);
  });

  it('resolves the renderer and live-feed settings', () => {
    const c = resolveConfig({ fileConfig: null, query: new URLSearchParams(), location: loc });
    expect(c).toMatchObject({ liveFormat: 'bin', aggregateAbove: 20000, aggregateBelowZoom: 12 });
    expect(c.basemapTimeoutSeconds).toBe(8);
    const set = resolveConfig({
      fileConfig: { liveFormat: 'json', wsToken: 'secret', antialias: true },
      query: new URLSearchParams('liveFormat=xml&aggregateAbove=0'),
      location: loc,
    });
    expect(set).toMatchObject({ liveFormat: 'json', wsToken: 'secret', antialias: true, aggregateAbove: 0 });
    expect(set.warnings).toEqual(['query: liveFormat must be one of bin, json']);
  });

  it('passes the basemap through as a string, leaving it unset for the renderer default', () => {
    const none = resolveConfig({ fileConfig: null, query: null, location: loc });
    expect('basemap' in none).toBe(false);
    const c = resolveConfig({
      fileConfig: { basemap: ' https://tiles.example.org/{z}/{x}/{y}.png ', basemapAttribution: '© Example' },
      query: new URLSearchParams('basemap=offline'),
      location: loc,
    });
    expect(c.basemap).toBe('offline');
    expect(c.basemapAttribution).toBe('© Example');
    const bad = resolveConfig({ fileConfig: { basemap: 42 }, query: null, location: loc });
    expect('basemap' in bad).toBe(false);
    expect(bad.warnings[0]).toMatch(/basemap must be a string/);
  });

  it('rejects a config.json that is not an object', () => {
    const c = resolveConfig({ fileConfig: ['ws://x'], query: null, location: loc });
    expect(c.wsUrl).toBe('ws://10.1.2.3:8082');
    expect(c.warnings[0]).toMatch(/not a JSON object/);
  });
});

describe('fetchConfigFile against a real HTTP server', () => {
  let server;
  let base;
  const routes = {
    '/ok/config.json': [200, '{"wsUrl":"ws://relay:1","apiUrl":"http://api:2"}'],
    '/bad/config.json': [200, '<html>not json</html>'],
  };

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const route = routes[req.url];
      if (!route) {
        res.writeHead(404).end('missing');
        return;
      }
      res.writeHead(route[0], { 'Content-Type': 'application/json' }).end(route[1]);
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${server.address().port}`;
  });

  afterAll(() => new Promise((resolve) => server.close(resolve)));

  it('reads config.json next to the page', async () => {
    const r = await fetchConfigFile(fetch, `${base}/ok/index.html`);
    expect(r.fileConfig).toEqual({ wsUrl: 'ws://relay:1', apiUrl: 'http://api:2' });
  });

  it('returns null on 404 and on unparsable content', async () => {
    expect((await fetchConfigFile(fetch, `${base}/none/`)).fileConfig).toBeNull();
    const bad = await fetchConfigFile(fetch, `${base}/bad/`);
    expect(bad.fileConfig).toBeNull();
    expect(bad.note).toMatch(/not valid JSON/);
  });

  it('returns null when the server is unreachable', async () => {
    const closed = http.createServer();
    await new Promise((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = closed.address().port;
    await new Promise((resolve) => closed.close(resolve));
    const r = await fetchConfigFile(fetch, `http://127.0.0.1:${port}/`);
    expect(r.fileConfig).toBeNull();
    expect(r.note).toMatch(/not reachable/);
  });
});
