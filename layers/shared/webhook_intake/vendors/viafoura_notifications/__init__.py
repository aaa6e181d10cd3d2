"""Viafoura notifications webhook."""
