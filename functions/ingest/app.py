"""Ingest Lambda: one per vendor, chosen by the VENDOR environment variable."""

from webhook_intake.startup import cold_start

with cold_start():
    from webhook_intake.ingest.lambda_handler import build_handler

    handler = build_handler()
