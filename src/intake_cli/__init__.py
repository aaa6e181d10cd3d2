"""The ``intake`` CLI and the local stack that runs template.yaml on a moto server."""
