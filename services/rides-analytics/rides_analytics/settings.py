from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr

from geostream.settings import ServiceSettings

SAMPLE_PICKUPS = Path(__file__).resolve().parent / "samples" / "nyc_pickups_synthetic.csv"


class Settings(ServiceSettings):
    lake_root: str = "./lake"
    """Local directory or pyarrow filesystem URI (s3://, gs://), as rides-lake writes it."""
    lake_prefix: str = "rides"
    revenue_prefix: str = "revenue_by_zone"
    reference_pickups: str = str(SAMPLE_PICKUPS)
    """CSV with latitude/longitude columns (Lat/Lon as in Uber's files also accepted)."""
    analytics_clusters: int = Field(8, ge=1)
    analytics_seed: int = 42
    analytics_output_dir: str = "./analytics-out"
    """Where the PNG map goes."""
    analytics_interval_s: float = Field(3600.0, gt=0)
    """With --every: seconds between two runs (the scheduled container)."""
    elasticsearch_url: str = ""
    """Set: each run also writes its revenue documents to the ``rides-revenue`` index; empty: it does not."""
    elasticsearch_username: str = "elastic"
    elasticsearch_password: SecretStr = SecretStr("")
    """Empty: no authentication (a cluster with security off)."""
    elasticsearch_ca_certs: str = ""
    elasticsearch_request_timeout_s: float = Field(30.0, gt=0)
    index_replicas: int = Field(0, ge=0)
    health_host: str = "0.0.0.0"
    health_port: int = Field(8096, ge=0, le=65535)
