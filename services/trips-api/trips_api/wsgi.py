"""WSGI entry point: ``gunicorn -c gunicorn.conf.py trips_api.wsgi:app``."""

from geostream.logs import setup_logging
from trips_api.app import create_app
from trips_api.settings import Settings

settings = Settings()
setup_logging("trips-api", settings.log_level)
app = create_app(settings)
