"""Realistic ride requests for a city, to ``rides_raw`` (see README.md)."""
