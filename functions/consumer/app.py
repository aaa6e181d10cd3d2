"""Consumer Lambda: one per vendor queue, chosen by the VENDOR environment variable."""

from webhook_intake.consumer.lambda_handler import build_handler

handler = build_handler()
