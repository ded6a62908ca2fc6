// The bundled offline world basemap: world-atlas 1:50m countries, shipped with the build, so the
// map always has land and borders even when no tile server can be reached.

import { feature } from 'topojson-client';
import countriesUrl from 'world-atlas/countries-50m.json?url';
import { offlineStyle } from './basemap.js';

export async function loadOfflineStyle(fetchFn = fetch) {
  const response = await fetchFn(countriesUrl);
  if (!response.ok) throw new Error(`offline basemap: HTTP ${response.status}`);
  const topology = await response.json();
  return offlineStyle(feature(topology, topology.objects.countries));
}
