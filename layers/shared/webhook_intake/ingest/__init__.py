"""The ingest path: authenticate, check, enqueue, answer in the vendor's own terms.

Nothing here imports pydantic or the normalization code (see docs/performance.md).
"""
