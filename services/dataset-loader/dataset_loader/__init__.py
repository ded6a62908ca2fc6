"""dataset-loader: replays a dataset file (OpenSky states/all snapshots, or the ingest batch format)
through the ingest API, in batches, with retries and a final summary."""
