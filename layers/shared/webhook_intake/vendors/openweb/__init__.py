"""OpenWeb notification webhook: one event per delivery; a shared token or OAuth2 client_secret_jwt."""

from webhook_intake.registry import VendorSpec

SPEC = VendorSpec(
    key="openweb",
    stem="OpenWeb",
    path="/webhooks/openweb",
    methods=("POST",),
    id_field="event_id",
    required=("type",),
    # The vendor's documented field names, frozen: stored bodies are compressed with it (store/body.py).
    store_dictionaries=(
        (
            b'{"event_id":"","channels":["email","in-app"],"type":"","action_link":"https://","conversation_id'
            b'":"","conversation_title":"","description":"","timestamp":1,"keywords":[""],"authors":[""],"tota'
            b'l_count":1,"user":{"user_id":"","sso_user_id":"","user_name":"","display_name":"","registered":t'
            b'rue},"follower":{"user_id":"","sso_user_id":"","user_name":"","display_name":"","registered":tru'
            b'e},"liker":{"user_id":"","sso_user_id":"","user_name":"","display_name":"","registered":false},"'
            b'mentioner":{"user_id":"","sso_user_id":"","user_name":"","display_name":"","registered":false},"'
            b'followee":{"user_id":"","sso_user_id":"","user_name":"","display_name":"","registered":true},"re'
            b'plier":{"user_id":"","sso_user_id":"","user_name":"","display_name":"","registered":false},"repl'
            b'y":{"content":[{"type":"text","text":"","url":"https://"}],"comment_id":"","type":"reply","times'
            b'tamp":1},"comment":{"content":[{"type":"text","text":"","url":"https://"}],"comment_id":"","stat'
            b'e":"approved","type":"comment","timestamp":'
        ),
    ),
)
