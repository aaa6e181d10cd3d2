"""webhook-intake: vendor webhooks to an SQS queue, then to one normalized DynamoDB event log.

The ingest side (``webhook_intake.ingest`` and the vendors' ``contract`` modules) uses the
standard library, boto3 and Powertools only, so that the webhook path starts fast. The
consumer side (``webhook_intake.consumer`` and the vendors' ``normalize`` modules) does the
pydantic work.
"""
