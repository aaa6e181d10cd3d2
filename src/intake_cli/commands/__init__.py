"""The ``intake`` commands, one module per concern; ``intake_cli.main`` loads them all."""
