"""FastComments comment webhooks."""
