"""Helpers shared by the integration and e2e tests (reading topics, running services as processes)."""
