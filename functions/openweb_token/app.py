"""OpenWeb OAuth2 token Lambda: POST /oauth/openweb/token (client_secret_jwt → access token)."""

from webhook_intake.startup import cold_start

with cold_start():
    from webhook_intake.vendors.openweb.token_handler import build_handler

    handler = build_handler()
