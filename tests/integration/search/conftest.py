"""The ``es_shim`` and ``es`` fixtures moved to tests/conftest.py (other tests use them too)."""
