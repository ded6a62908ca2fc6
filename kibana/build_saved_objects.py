"""Writes ``buoys.ndjson`` and ``rides.ndjson``, the Kibana saved objects of the Buoys and Rides dashboards.

Run ``python kibana/build_saved_objects.py`` after editing this file.

The NDJSON is the versioned artefact (kibana-setup imports it); this script is how it is edited, so the
nested JSON-in-JSON strings Kibana wants (panelsJSON, layerListJSON, visState) stay consistent.
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA_VIEW_ID = "sensor-readings"
CORE_VERSION = "8.8.0"


def data_view() -> dict:
    return {
        "type": "index-pattern",
        "id": DATA_VIEW_ID,
        "attributes": {"title": "sensor-readings*", "name": "Sensor readings", "timeFieldName": "@timestamp"},
        "references": [],
        "coreMigrationVersion": CORE_VERSION,
        "typeMigrationVersion": "8.0.0",
    }


def line_chart(object_id: str, field: str, label: str) -> dict:
    layer = "readings"
    columns = {
        "time": {
            "label": "@timestamp",
            "dataType": "date",
            "operationType": "date_histogram",
            "sourceField": "@timestamp",
            "isBucketed": True,
            "scale": "interval",
            "params": {"interval": "auto", "includeEmptyRows": False, "dropPartials": False},
        },
        "sensor": {
            "label": "Sensor",
            "dataType": "string",
            "operationType": "terms",
            "sourceField": "sensor_id",
            "isBucketed": True,
            "scale": "ordinal",
            "params": {
                "size": 20,
                "orderBy": {"type": "alphabetical", "fallback": True},
                "orderDirection": "asc",
                "otherBucket": False,
                "missingBucket": False,
            },
        },
        "value": {
            "label": label,
            "customLabel": True,
            "dataType": "number",
            "operationType": "average",
            "sourceField": field,
            "isBucketed": False,
            "scale": "ratio",
            "params": {"emptyAsNull": True},
        },
    }
    return {
        "type": "lens",
        "id": object_id,
        "attributes": {
            "title": f"Buoys: {label.split(' (', maxsplit=1)[0].lower()} per sensor",
            "description": f"Average {field} per sensor over time",
            "visualizationType": "lnsXY",
            "state": {
                "datasourceStates": {
                    "formBased": {
                        "layers": {
                            layer: {"columnOrder": ["sensor", "time", "value"], "columns": columns},
                        }
                    }
                },
                "visualization": {
                    "preferredSeriesType": "line",
                    "legend": {"isVisible": True, "position": "right"},
                    "valueLabels": "hide",
                    "layers": [
                        {
                            "layerId": layer,
                            "layerType": "data",
                            "seriesType": "line",
                            "xAccessor": "time",
                            "accessors": ["value"],
                            "splitAccessor": "sensor",
                        }
                    ],
                },
                "query": {"query": "", "language": "kuery"},
                "filters": [],
            },
        },
        "references": [
            {"type": "index-pattern", "id": DATA_VIEW_ID, "name": f"indexpattern-datasource-layer-{layer}"}
        ],
        "coreMigrationVersion": CORE_VERSION,
        "typeMigrationVersion": "8.9.0",
    }


def positions_map() -> dict:
    layers = [
        {
            "id": "basemap",
            "type": "EMS_VECTOR_TILE",
            "label": "Basemap",
            "sourceDescriptor": {"type": "EMS_TMS", "isAutoSelect": True, "lightModeDefault": "road_map"},
            "visible": True,
            "alpha": 1,
            "minZoom": 0,
            "maxZoom": 24,
            "style": {"type": "EMS_VECTOR_TILE", "color": ""},
            "includeInFitToBounds": True,
        },
        {
            "id": "buoys",
            "type": "GEOJSON_VECTOR",
            "label": "Buoys (latest position, colour = temperature)",
            "sourceDescriptor": {
                "type": "ES_SEARCH",
                "id": "buoys-source",
                "indexPatternRefName": "layer_1_source_index_pattern",
                "geoField": "location",
                "scalingType": "TOP_HITS",
                "topHitsSplitField": "sensor_id",
                "topHitsSize": 1,
                "sortField": "@timestamp",
                "sortOrder": "desc",
                "tooltipProperties": ["sensor_id", "@timestamp", "temperature", "humidity", "pressure"],
                "applyGlobalQuery": True,
                "applyGlobalTime": True,
                "applyForceRefresh": True,
            },
            "visible": True,
            "alpha": 0.9,
            "minZoom": 0,
            "maxZoom": 24,
            "includeInFitToBounds": True,
            "joins": [],
            "style": {
                "type": "VECTOR",
                "isTimeAware": True,
                "properties": {
                    "fillColor": {
                        "type": "DYNAMIC",
                        "options": {
                            "color": "Yellow to Red",
                            "colorCategory": "palette_0",
                            "field": {"name": "temperature", "origin": "source"},
                            "fieldMetaOptions": {"isEnabled": True, "sigma": 3},
                            "type": "ORDINAL",
                        },
                    },
                    "lineColor": {"type": "STATIC", "options": {"color": "#3d3d3d"}},
                    "lineWidth": {"type": "STATIC", "options": {"size": 1}},
                    "iconSize": {"type": "STATIC", "options": {"size": 10}},
                    "symbolizeAs": {"options": {"value": "circle"}},
                    "icon": {"type": "STATIC", "options": {"value": "marker"}},
                    "labelText": {
                        "type": "DYNAMIC",
                        "options": {"field": {"name": "sensor_id", "origin": "source"}},
                    },
                },
            },
        },
    ]
    map_state = {
        "zoom": 11.5,
        "center": {"lon": 3.145, "lat": 42.48},
        "timeFilters": {"from": "now-15m", "to": "now"},
        "refreshConfig": {"isPaused": False, "interval": 10000},
        "query": {"query": "", "language": "kuery"},
        "filters": [],
        "settings": {"autoFitToDataBounds": False},
    }
    return {
        "type": "map",
        "id": "buoys-map",
        "attributes": {
            "title": "Buoys: latest positions",
            "description": "Latest position of each buoy, coloured by temperature",
            "mapStateJSON": json.dumps(map_state),
            "layerListJSON": json.dumps(layers),
            "uiStateJSON": json.dumps({"isLayerTOCOpen": True, "openTOCDetails": []}),
        },
        "references": [{"type": "index-pattern", "id": DATA_VIEW_ID, "name": "layer_1_source_index_pattern"}],
        "coreMigrationVersion": CORE_VERSION,
        "typeMigrationVersion": "8.4.0",
    }


def sensor_cell(x: dict, text: dict, **encode: dict) -> dict:
    """One column of the sensor table: a text mark per sensor, on the sensor's row."""
    return {
        "type": "text",
        "from": {"data": "sensors"},
        "encode": {"update": {"x": x, "y": {"signal": "datum.row * 20"}, "text": text, **encode}},
    }


# A Vega table: Lens has no "now", and the age of each sensor's last reading needs it.
SENSOR_TABLE_SPEC = {
    "$schema": "https://vega.github.io/schema/vega/v5.json",
    "title": "Sensors: last reading and age",
    "autosize": {"type": "fit-x", "contains": "padding"},
    "height": 400,
    "data": [
        {
            "name": "sensors",
            "url": {
                "index": "sensor-readings*",
                "%context%": True,
                "%timefield%": "@timestamp",
                "body": {
                    "size": 0,
                    "aggs": {
                        "sensors": {
                            "terms": {"field": "sensor_id", "size": 200, "order": {"_key": "asc"}},
                            "aggs": {
                                "latest": {
                                    "top_hits": {
                                        "size": 1,
                                        "sort": [{"@timestamp": {"order": "desc"}}],
                                        "_source": ["@timestamp", "temperature", "humidity", "pressure"],
                                    }
                                }
                            },
                        }
                    },
                },
            },
            "format": {"property": "aggregations.sensors.buckets"},
            "transform": [
                {"type": "formula", "as": "last", "expr": "datum.latest.hits.hits[0]._source"},
                {"type": "formula", "as": "at", "expr": "toDate(datum.last['@timestamp'])"},
                {"type": "formula", "as": "age_s", "expr": "(now() - datum.at) / 1000"},
                {"type": "window", "ops": ["row_number"], "as": ["row"]},
            ],
        },
        {
            "name": "columns",
            "values": [
                {"title": "Sensor", "x": 0},
                {"title": "Last reading (UTC)", "x": 0.2},
                {"title": "Age (s)", "x": 0.45},
                {"title": "Temperature (°C)", "x": 0.57},
                {"title": "Humidity (%)", "x": 0.73},
                {"title": "Pressure (hPa)", "x": 0.87},
            ],
        },
    ],
    "marks": [
        {
            "type": "text",
            "from": {"data": "columns"},
            "encode": {
                "update": {
                    "x": {"signal": "datum.x * width"},
                    "y": {"value": 0},
                    "text": {"field": "title"},
                    "fontWeight": {"value": "bold"},
                }
            },
        },
        sensor_cell({"value": 0}, {"field": "key"}),
        sensor_cell({"signal": "0.2 * width"}, {"signal": "utcFormat(datum.at, '%Y-%m-%d %H:%M:%S')"}),
        sensor_cell(
            {"signal": "0.45 * width"},
            {"signal": "format(datum.age_s, 'd')"},
            fill={"signal": "datum.age_s > 60 ? '#bd271e' : '#000000'"},
        ),
        *(
            sensor_cell({"signal": f"{x} * width"}, {"signal": f"format(datum.last.{field}, '.2f')"})
            for x, field in ((0.57, "temperature"), (0.73, "humidity"), (0.87, "pressure"))
        ),
    ],
}


def sensor_table() -> dict:
    vis_state = {
        "title": "Buoys: sensors, last reading and age",
        "type": "vega",
        "aggs": [],
        "params": {"spec": json.dumps(SENSOR_TABLE_SPEC, indent=2, ensure_ascii=False)},
    }
    return {
        "type": "visualization",
        "id": "buoys-sensor-table",
        "attributes": {
            "title": vis_state["title"],
            "description": "One row per sensor: time of its last reading, its age and its last values",
            "visState": json.dumps(vis_state, ensure_ascii=False),
            "uiStateJSON": "{}",
            "kibanaSavedObjectMeta": {
                "searchSourceJSON": json.dumps({"query": {"query": "", "language": "kuery"}, "filter": []})
            },
        },
        "references": [],
        "coreMigrationVersion": CORE_VERSION,
        "typeMigrationVersion": "8.5.0",
    }


def dashboard(
    panels: list[tuple[dict, dict]],
    dashboard_id: str = "buoys-dashboard",
    title: str = "Buoys",
    description: str = "Buoy sensors off Banyuls-sur-Mer: positions, readings and sensor status",
    time_from: str = "now-15m",
    panel_time_ranges: dict[str, dict] | None = None,
) -> dict:
    """``panel_time_ranges``: saved object id -> the panel's own time range (Kibana's "customize time
    range"), for panels whose data arrive slower than the dashboard's range."""
    panel_list, references = [], []
    for index, (saved, grid) in enumerate(panels, start=1):
        panel_id = f"panel-{index}"
        panel_list.append(
            {
                "type": saved["type"],
                "panelIndex": panel_id,
                "gridData": {**grid, "i": panel_id},
                "embeddableConfig": {
                    "enhancements": {},
                    **(
                        {"timeRange": panel_time_ranges[saved["id"]]}
                        if saved["id"] in (panel_time_ranges or {})
                        else {}
                    ),
                },
                "panelRefName": f"panel_{panel_id}",
            }
        )
        references.append({"type": saved["type"], "id": saved["id"], "name": f"{panel_id}:panel_{panel_id}"})
    return {
        "type": "dashboard",
        "id": dashboard_id,
        "attributes": {
            "title": title,
            "description": description,
            "panelsJSON": json.dumps(panel_list),
            "optionsJSON": json.dumps({"useMargins": True, "syncColors": True, "hidePanelTitles": False}),
            "timeRestore": True,
            "timeFrom": time_from,
            "timeTo": "now",
            "refreshInterval": {"pause": False, "value": 10000},
            "kibanaSavedObjectMeta": {
                "searchSourceJSON": json.dumps({"query": {"query": "", "language": "kuery"}, "filter": []})
            },
        },
        "references": references,
        "coreMigrationVersion": CORE_VERSION,
        "typeMigrationVersion": "8.9.0",
    }


def saved_objects() -> list[dict]:
    temperature = line_chart("buoys-temperature", "temperature", "Temperature (°C)")
    humidity = line_chart("buoys-humidity", "humidity", "Humidity (%)")
    pressure = line_chart("buoys-pressure", "pressure", "Pressure (hPa)")
    positions = positions_map()
    table = sensor_table()
    board = dashboard(
        [
            (positions, {"x": 0, "y": 0, "w": 24, "h": 18}),
            (table, {"x": 24, "y": 0, "w": 24, "h": 18}),
            (temperature, {"x": 0, "y": 18, "w": 16, "h": 14}),
            (humidity, {"x": 16, "y": 18, "w": 16, "h": 14}),
            (pressure, {"x": 32, "y": 18, "w": 16, "h": 14}),
        ]
    )
    return [data_view(), temperature, humidity, pressure, positions, table, board]


# --- Rides (issue 12): the rides index (es-indexer) and the rides-revenue index (rides-analytics) ---

RIDES_VIEW_ID = "rides"
REVENUE_VIEW_ID = "rides-revenue"


def rides_data_views() -> list[dict]:
    # "rides*" would also take the rides-revenue index: excluded, so the view holds the rides only.
    return [
        {
            "type": "index-pattern",
            "id": RIDES_VIEW_ID,
            "attributes": {"title": "rides*,-rides-revenue*", "name": "Rides", "timeFieldName": "ts"},
            "references": [],
            "coreMigrationVersion": CORE_VERSION,
            "typeMigrationVersion": "8.0.0",
        },
        {
            "type": "index-pattern",
            "id": REVENUE_VIEW_ID,
            "attributes": {
                "title": "rides-revenue*",
                "name": "Rides revenue by zone",
                "timeFieldName": "@timestamp",
            },
            "references": [],
            "coreMigrationVersion": CORE_VERSION,
            "typeMigrationVersion": "8.0.0",
        },
    ]


def count_column(label: str) -> dict:
    return {
        "label": label,
        "customLabel": True,
        "dataType": "number",
        "operationType": "count",
        "sourceField": "___records___",
        "isBucketed": False,
        "scale": "ratio",
        "params": {"emptyAsNull": True},
    }


def metric_column(operation: str, field: str, label: str, decimals: int = 2, **params) -> dict:
    return {
        "label": label,
        "customLabel": True,
        "dataType": "number",
        "operationType": operation,
        "sourceField": field,
        "isBucketed": False,
        "scale": "ratio",
        "params": {
            **params,
            "format": {"id": "number", "params": {"decimals": decimals}},
        },
    }


def terms_column(field: str, label: str, size: int, order_by: dict, data_type: str = "string") -> dict:
    return {
        "label": label,
        "customLabel": True,
        "dataType": data_type,
        "operationType": "terms",
        "sourceField": field,
        "isBucketed": True,
        "scale": "ordinal",
        "params": {
            "size": size,
            "orderBy": order_by,
            "orderDirection": "desc" if order_by["type"] == "column" else "asc",
            "otherBucket": False,
            "missingBucket": False,
        },
    }


def lens(
    object_id: str,
    title: str,
    description: str,
    view_id: str,
    visualization_type: str,
    columns: dict[str, dict],
    visualization: dict,
) -> dict:
    layer = "layer1"
    return {
        "type": "lens",
        "id": object_id,
        "attributes": {
            "title": title,
            "description": description,
            "visualizationType": visualization_type,
            "state": {
                "datasourceStates": {
                    "formBased": {
                        "layers": {layer: {"columnOrder": list(columns), "columns": columns}},
                    }
                },
                "visualization": visualization,
                "query": {"query": "", "language": "kuery"},
                "filters": [],
            },
        },
        "references": [
            {"type": "index-pattern", "id": view_id, "name": f"indexpattern-datasource-layer-{layer}"}
        ],
        "coreMigrationVersion": CORE_VERSION,
        "typeMigrationVersion": "8.9.0",
    }


def bar_chart(x: str, accessors: list[str], split: str | None = None, horizontal: bool = False) -> dict:
    series = "bar_horizontal_stacked" if horizontal else "bar_stacked"
    layer = {
        "layerId": "layer1",
        "layerType": "data",
        "seriesType": series,
        "xAccessor": x,
        "accessors": accessors,
    }
    if split is not None:
        layer["splitAccessor"] = split
    return {
        "preferredSeriesType": series,
        "legend": {"isVisible": split is not None, "position": "right"},
        "valueLabels": "hide",
        "layers": [layer],
    }


def rides_per_minute() -> dict:
    columns = {
        "minute": {
            "label": "Minute",
            "customLabel": True,
            "dataType": "date",
            "operationType": "date_histogram",
            "sourceField": "ts",
            "isBucketed": True,
            "scale": "interval",
            "params": {"interval": "1m", "includeEmptyRows": True, "dropPartials": False},
        },
        "rides": count_column("Rides"),
    }
    return lens(
        "rides-per-minute",
        "Rides: rides per minute",
        "Number of priced rides per minute of ride time (ts)",
        RIDES_VIEW_ID,
        "lnsXY",
        columns,
        bar_chart("minute", ["rides"]),
    )


def rides_metric(object_id: str, field: str, label: str, description: str) -> dict:
    return lens(
        object_id,
        f"Rides: {label.split(' (', maxsplit=1)[0].lower()}",
        description,
        RIDES_VIEW_ID,
        "lnsMetric",
        {"value": metric_column("average", field, label, emptyAsNull=True)},
        {"layerId": "layer1", "layerType": "data", "metricAccessor": "value"},
    )


def rides_by_comfort() -> dict:
    columns = {
        "comfort": terms_column("comfort", "Comfort", 3, {"type": "column", "columnId": "rides"}),
        "rides": count_column("Rides"),
    }
    return lens(
        "rides-by-comfort",
        "Rides: distribution by comfort",
        "Share of rides per comfort level (low, medium, high)",
        RIDES_VIEW_ID,
        "lnsPie",
        columns,
        {
            "shape": "donut",
            "layers": [
                {
                    "layerId": "layer1",
                    "layerType": "data",
                    "primaryGroups": ["comfort"],
                    "metrics": ["rides"],
                    "numberDisplay": "percent",
                    "categoryDisplay": "default",
                    "legendDisplay": "default",
                    "nestedLegend": False,
                }
            ],
        },
    )


def revenue_by_comfort() -> dict:
    columns = {
        "comfort": terms_column("comfort", "Comfort", 3, {"type": "column", "columnId": "revenue"}),
        "revenue": metric_column("sum", "price_total", "Revenue", emptyAsNull=True),
    }
    return lens(
        "rides-revenue-by-comfort",
        "Rides: revenue by comfort",
        "Sum of price_total per comfort level over the selected time range",
        RIDES_VIEW_ID,
        "lnsXY",
        columns,
        bar_chart("comfort", ["revenue"]),
    )


def revenue_by_zone() -> dict:
    """rides-analytics writes one snapshot per run (each over the whole lake): the latest value of each
    (zone, comfort) is the current revenue; a sum would add the snapshots up."""
    columns = {
        "zone": terms_column(
            "cluster_id", "Zone", 20, {"type": "alphabetical", "fallback": True}, data_type="number"
        ),
        "comfort": terms_column("comfort", "Comfort", 3, {"type": "alphabetical", "fallback": True}),
        "revenue": metric_column(
            "last_value", "revenue", "Revenue (latest run)", sortField="@timestamp", showArrayValues=False
        ),
    }
    return lens(
        "rides-revenue-by-zone",
        "Rides: revenue by zone (KMeans) and comfort",
        "Latest rides-analytics run: revenue per KMeans zone of the pickups, stacked by comfort",
        REVENUE_VIEW_ID,
        "lnsXY",
        columns,
        bar_chart("zone", ["revenue"], split="comfort"),
    )


def points_layer(layer_id: str, label: str, geo_field: str, color: str, ref_name: str) -> dict:
    return {
        "id": layer_id,
        "type": "GEOJSON_VECTOR",
        "label": label,
        "sourceDescriptor": {
            "type": "ES_SEARCH",
            "id": f"{layer_id}-source",
            "indexPatternRefName": ref_name,
            "geoField": geo_field,
            # Documents up to the limit, then clusters of them (a busy hour has many rides).
            "scalingType": "CLUSTERS",
            "sortField": "ts",
            "sortOrder": "desc",
            "tooltipProperties": ["ride_id", "ts", "comfort", "distance_km", "price_total"],
            "applyGlobalQuery": True,
            "applyGlobalTime": True,
            "applyForceRefresh": True,
        },
        "visible": True,
        "alpha": 0.8,
        "minZoom": 0,
        "maxZoom": 24,
        "includeInFitToBounds": True,
        "joins": [],
        "style": {
            "type": "VECTOR",
            "isTimeAware": True,
            "properties": {
                "fillColor": {"type": "STATIC", "options": {"color": color}},
                "lineColor": {"type": "STATIC", "options": {"color": "#ffffff"}},
                "lineWidth": {"type": "STATIC", "options": {"size": 1}},
                "iconSize": {"type": "STATIC", "options": {"size": 6}},
                "symbolizeAs": {"options": {"value": "circle"}},
                "icon": {"type": "STATIC", "options": {"value": "marker"}},
            },
        },
    }


def rides_map() -> dict:
    layers = [
        {
            "id": "basemap",
            "type": "EMS_VECTOR_TILE",
            "label": "Basemap",
            "sourceDescriptor": {"type": "EMS_TMS", "isAutoSelect": True, "lightModeDefault": "road_map"},
            "visible": True,
            "alpha": 1,
            "minZoom": 0,
            "maxZoom": 24,
            "style": {"type": "EMS_VECTOR_TILE", "color": ""},
            "includeInFitToBounds": True,
        },
        points_layer("origins", "Origins (pick-up)", "origin", "#54B399", "layer_1_source_index_pattern"),
        points_layer(
            "destinations",
            "Destinations (drop-off)",
            "destination",
            "#E7664C",
            "layer_2_source_index_pattern",
        ),
    ]
    map_state = {
        "zoom": 10.5,
        "center": {"lon": -73.97, "lat": 40.74},
        "timeFilters": {"from": "now-30m", "to": "now"},
        "refreshConfig": {"isPaused": False, "interval": 10000},
        "query": {"query": "", "language": "kuery"},
        "filters": [],
        "settings": {"autoFitToDataBounds": True},
    }
    return {
        "type": "map",
        "id": "rides-map",
        "attributes": {
            "title": "Rides: origins and destinations",
            "description": "Pick-up (green) and drop-off (red) points of the rides, clustered when many",
            "mapStateJSON": json.dumps(map_state),
            "layerListJSON": json.dumps(layers),
            "uiStateJSON": json.dumps({"isLayerTOCOpen": True, "openTOCDetails": []}),
        },
        "references": [
            {"type": "index-pattern", "id": RIDES_VIEW_ID, "name": "layer_1_source_index_pattern"},
            {"type": "index-pattern", "id": RIDES_VIEW_ID, "name": "layer_2_source_index_pattern"},
        ],
        "coreMigrationVersion": CORE_VERSION,
        "typeMigrationVersion": "8.4.0",
    }


def rides_saved_objects() -> list[dict]:
    per_minute = rides_per_minute()
    distance = rides_metric(
        "rides-average-distance", "distance_km", "Average distance (km)", "Mean haversine distance_km"
    )
    price = rides_metric("rides-average-price", "price_total", "Average price", "Mean price_total")
    comfort = rides_by_comfort()
    positions = rides_map()
    revenue = revenue_by_comfort()
    zones = revenue_by_zone()
    board = dashboard(
        [
            (distance, {"x": 0, "y": 0, "w": 12, "h": 8}),
            (price, {"x": 12, "y": 0, "w": 12, "h": 8}),
            (per_minute, {"x": 24, "y": 0, "w": 24, "h": 8}),
            (positions, {"x": 0, "y": 8, "w": 32, "h": 22}),
            (comfort, {"x": 32, "y": 8, "w": 16, "h": 11}),
            (revenue, {"x": 32, "y": 19, "w": 16, "h": 11}),
            (zones, {"x": 0, "y": 30, "w": 48, "h": 14}),
        ],
        dashboard_id="rides-dashboard",
        title="Rides",
        description="Ride-hailing in New York: volume, distance, price, comfort, pick-ups and drop-offs, "
        "revenue by comfort and by KMeans zone",
        time_from="now-30m",
        # rides-analytics runs hourly (compose): a day back always holds its latest run.
        panel_time_ranges={zones["id"]: {"from": "now-24h", "to": "now"}},
    )
    return [*rides_data_views(), per_minute, distance, price, comfort, positions, revenue, zones, board]


FILES = {"buoys.ndjson": saved_objects, "rides.ndjson": rides_saved_objects}


def render(name: str = "buoys.ndjson") -> str:
    return "".join(json.dumps(obj, ensure_ascii=False, sort_keys=True) + "\n" for obj in FILES[name]())


if __name__ == "__main__":
    for file_name in FILES:
        (HERE / file_name).write_text(render(file_name), encoding="utf-8")
