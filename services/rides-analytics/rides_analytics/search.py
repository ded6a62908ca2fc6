"""The ``rides-revenue`` index: its template and the bulk write of one run's revenue documents.

Written by rides-analytics itself with the official client (when ``ELASTICSEARCH_URL`` is set): the
documents are a small table per run (zones x comfort levels), computed from the lake, which stays the
source of truth. Idempotent: each document's ``_id`` is fixed (``<computed_at>-<zone>-<comfort>``) and
written with ``index``, so re-sending a run overwrites the same documents. A run whose write fails fails
as a whole and the next scheduled run writes a complete new snapshot.
"""

from __future__ import annotations

import logging
from typing import Any

from elasticsearch import ApiError, Elasticsearch, helpers

from rides_analytics.settings import Settings

log = logging.getLogger("rides-analytics")

INDEX = "rides-revenue"
MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "@timestamp": {"type": "date", "format": "strict_date_optional_time||epoch_millis"},
        "cluster_id": {"type": "integer"},
        "comfort": {"type": "keyword"},
        "revenue": {"type": "double"},
        "rides": {"type": "long"},
        "centroid": {"type": "geo_point"},
    },
}


def template(replicas: int) -> dict[str, Any]:
    # Exactly "rides-revenue": the rides index has its own template (es-indexer), pattern "rides".
    return {
        "index_patterns": [INDEX],
        "priority": 200,
        "template": {
            "settings": {"index.number_of_shards": 1, "index.number_of_replicas": replicas},
            "mappings": MAPPING,
        },
        "_meta": {"managed_by": "rides-analytics"},
    }


def make_client(settings: Settings) -> Elasticsearch:
    options: dict[str, Any] = {"request_timeout": settings.elasticsearch_request_timeout_s}
    password = settings.elasticsearch_password.get_secret_value()
    if password:
        options["basic_auth"] = (settings.elasticsearch_username, password)
    if settings.elasticsearch_ca_certs:
        options["ca_certs"] = settings.elasticsearch_ca_certs
    return Elasticsearch(settings.elasticsearch_url, **options)


def install(es: Elasticsearch, replicas: int = 0) -> None:
    """The template and the index; idempotent."""
    es.indices.put_index_template(name=INDEX, body=template(replicas))
    try:
        es.indices.create(index=INDEX)
    except ApiError as exc:
        if exc.status_code != 400 or "already_exists" not in str(exc):
            raise


def bulk_actions(documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``zones.revenue_documents`` -> bulk ``index`` actions (the fixed ``_id`` makes a re-send overwrite)."""
    return [
        {
            "_op_type": "index",
            "_index": INDEX,
            "_id": d["_id"],
            "_source": {k: v for k, v in d.items() if k != "_id"},
        }
        for d in documents
    ]


def index_revenue(es: Elasticsearch, documents: list[dict[str, Any]], replicas: int = 0) -> int:
    """Installs the template (idempotent) and writes the documents; raises when any is refused."""
    install(es, replicas)
    if not documents:
        return 0
    indexed, _errors = helpers.bulk(es, bulk_actions(documents), refresh="wait_for")
    log.info("revenue indexed", extra={"index": INDEX, "documents": indexed})
    return indexed
