"""Viafoura engagement (user-content-action) webhooks."""
