"""One sub-package per vendor, each with the same two modules.

- ``contract``: the ingest side (auth scheme, envelope check, answer). Standard library only.
- ``normalize``: the consumer side (pydantic models of the payload, envelope split, mapping
  to the normalized event).
"""
