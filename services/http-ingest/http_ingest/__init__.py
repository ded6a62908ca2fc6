"""http-ingest: the HTTP entry point of location data (``POST /ingest/location``) into Kafka."""
