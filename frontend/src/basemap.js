// Offline basemap: world-atlas country polygons (no tiles can be fetched). The coarse 1:110m
// file loads first; the 1:50m file replaces it the first time the view is zoomed in (unless
// `detailed` is false: tessellating it blocks the page for a moment, seconds with software GL).

import { GeoJsonLayer } from '@deck.gl/layers';
import { feature } from 'topojson-client';
import coarseUrl from 'world-atlas/countries-110m.json?url';
import detailedUrl from 'world-atlas/countries-50m.json?url';

export const DETAIL_ZOOM = 4;

async function loadCountries(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`basemap ${url}: HTTP ${response.status}`);
  const topology = await response.json();
  return feature(topology, topology.objects.countries);
}

export function createBasemap(onChange, { detailed = true } = {}) {
  const basemap = { data: null, detailed: false, loadingDetailed: false, error: null };

  loadCountries(coarseUrl)
    .then((data) => {
      if (!basemap.detailed) {
        basemap.data = data;
        onChange();
      }
    })
    .catch((err) => {
      basemap.error = String(err);
      console.error(JSON.stringify({ level: 'error', msg: 'basemap load failed', error: basemap.error }));
    });

  basemap.maybeLoadDetailed = (zoom) => {
    if (!detailed || zoom < DETAIL_ZOOM || basemap.detailed || basemap.loadingDetailed) return;
    basemap.loadingDetailed = true;
    loadCountries(detailedUrl)
      .then((data) => {
        basemap.data = data;
        basemap.detailed = true;
        onChange();
      })
      .catch((err) => {
        basemap.loadingDetailed = false;
        console.error(JSON.stringify({ level: 'error', msg: 'detailed basemap load failed', error: String(err) }));
      });
  };

  basemap.layer = () =>
    new GeoJsonLayer({
      id: 'basemap',
      data: basemap.data || { type: 'FeatureCollection', features: [] },
      stroked: true,
      filled: true,
      // Without it the polygons that cross the antimeridian smear across the whole map.
      wrapLongitude: true,
      getFillColor: [29, 48, 64, 255],
      getLineColor: [58, 88, 112, 255],
      lineWidthUnits: 'pixels',
      getLineWidth: 0.7,
      pickable: false,
    });

  return basemap;
}
