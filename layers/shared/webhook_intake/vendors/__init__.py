"""One sub-package per vendor, each with the same three modules (and ``shapes.json``, its documented shapes).

- ``contract``: the ingest side (auth scheme, envelope check, answer). Standard library only.
- ``normalize``: the consumer side (pydantic models of the payload, envelope split, mapping
  to the normalized event).
- ``client``: how the vendor calls us, for ``intake send``, the demo and the tests (not shipped to Lambda).
"""
