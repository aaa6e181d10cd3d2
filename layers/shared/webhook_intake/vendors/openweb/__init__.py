"""OpenWeb notification webhook."""
