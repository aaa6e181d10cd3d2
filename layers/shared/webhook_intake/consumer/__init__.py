"""The consumer path: SQS batch → vendor events → normalized events → DynamoDB."""
