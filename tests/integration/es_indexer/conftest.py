"""The buoy pipeline for these tests: udp-ingest -> Kafka -> es-indexer -> OpenSearch (session-wide)."""

from __future__ import annotations

import pytest
from pipeline_support import Pipeline


@pytest.fixture(scope="session")
def pipeline(workdir, kafka, es_shim):
    started = Pipeline(workdir, kafka, es_shim).start()
    yield started
    started.stop()
