"""WSGI entry point: ``gunicorn -c gunicorn.conf.py http_ingest.wsgi:app`` (one producer per worker)."""

from geostream.logs import setup_logging
from http_ingest.app import create_app
from http_ingest.settings import Settings

settings = Settings()
setup_logging("http-ingest", settings.log_level)
app = create_app(settings)
