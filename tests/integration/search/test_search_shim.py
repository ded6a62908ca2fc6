"""The test-only shim: why it exists, and that it changes only the two things it claims to change."""

from __future__ import annotations

import uuid

import pytest
import requests
from elasticsearch import Elasticsearch, NotFoundError, UnsupportedProductError
from support.search_shim import (
    ElasticsearchShim,
    elasticsearch_client,
    plain_media_type,
    request_headers_for_engine,
    response_headers_for_client,
)

VERSIONED_JSON = "application/vnd.elasticsearch+json; compatible-with=8"
VERSIONED_NDJSON = "application/vnd.elasticsearch+x-ndjson; compatible-with=8"


@pytest.mark.parametrize(
    ("sent", "forwarded"),
    [
        (VERSIONED_JSON, "application/json"),
        (VERSIONED_NDJSON, "application/x-ndjson"),
        ("application/vnd.elasticsearch+json;compatible-with=7", "application/json"),
        ("application/json", "application/json"),
        ("text/plain; charset=UTF-8", "text/plain; charset=UTF-8"),
    ],
)
def test_versioned_media_types_become_plain_ones(sent: str, forwarded: str) -> None:
    assert plain_media_type(sent) == forwarded


def test_only_media_type_and_hop_by_hop_headers_change_on_the_way_in() -> None:
    headers = [
        ("Accept", VERSIONED_JSON),
        ("Content-Type", VERSIONED_NDJSON),
        ("X-Elastic-Client-Meta", "es=8.19.3,py=3.11"),
        ("Authorization", "Basic dTpw"),
        ("Connection", "keep-alive"),
        ("Content-Length", "12"),
    ]
    assert request_headers_for_engine(headers) == [
        ("Accept", "application/json"),
        ("Content-Type", "application/x-ndjson"),
        ("X-Elastic-Client-Meta", "es=8.19.3,py=3.11"),
        ("Authorization", "Basic dTpw"),
    ]


def test_the_product_header_is_added_once_on_the_way_out() -> None:
    headers = [("content-type", "application/json; charset=UTF-8"), ("Transfer-Encoding", "chunked")]
    assert response_headers_for_client(headers) == [
        ("content-type", "application/json; charset=UTF-8"),
        ("X-Elastic-Product", "Elasticsearch"),
    ]


def test_without_the_shim_the_official_client_refuses_opensearch(opensearch) -> None:
    with Elasticsearch(opensearch.url) as client, pytest.raises(UnsupportedProductError):
        client.info()


def test_without_the_shim_opensearch_refuses_the_versioned_media_type(opensearch) -> None:
    response = requests.post(
        f"{opensearch.url}/_search",
        data=b'{"query": {"match_all": {}}}',
        headers={"Content-Type": VERSIONED_JSON, "Accept": VERSIONED_JSON},
        timeout=30,
    )
    assert response.status_code == 406
    assert "is not supported" in response.json()["error"]


def test_through_the_shim_the_client_sees_the_real_engine(es: Elasticsearch) -> None:
    info = es.info()
    assert info["version"]["distribution"] == "opensearch"
    assert info["version"]["number"].startswith("2.19.")


def test_engine_errors_pass_through_unchanged(es: Elasticsearch) -> None:
    missing = f"missing-{uuid.uuid4().hex}"
    with pytest.raises(NotFoundError) as raised:
        es.get(index=missing, id="1")
    assert raised.value.meta.status == 404
    assert raised.value.body["error"]["type"] == "index_not_found_exception"
    assert es.indices.exists(index=missing).body is False


def test_an_unreachable_engine_looks_like_a_dead_server() -> None:
    from elasticsearch import ConnectionError as EsConnectionError

    from localservers import free_port

    with ElasticsearchShim(f"http://127.0.0.1:{free_port()}") as shim:
        client = elasticsearch_client(shim, max_retries=0, request_timeout=5)
        with pytest.raises(EsConnectionError):
            client.info()
        client.close()
