"""Shared library of the Geostream services.

Every service imports its settings base, Kafka factories, message contracts, logging, health and
shutdown helpers from here; services never import each other.
"""
