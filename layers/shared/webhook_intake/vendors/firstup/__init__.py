"""Firstup webhook events: one flat event per delivery (or the older ``{event, data}`` envelope)."""

from webhook_intake.registry import VendorSpec

SPEC = VendorSpec(
    key="firstup",
    stem="Firstup",
    path="/webhooks/firstup",
    methods=("POST",),
    id_field="id",
    # Each delivery's unique id; Firstup: "use this for logging and idempotency".
    delivery_header="x-socialchorus-delivery",
    # The vendor's documented field names, frozen: stored bodies are compressed with it (store/body.py).
    store_dictionaries=(
        (
            b'{"id":"","timestamp":"20","name":"","version":"1","event":"","data":{},"content_id":1,"channel_i'
            b'ds":[1],"channel_id":1,"channel_name":"","campaign_id":1,"campaign_name":"","push_message":{"nam'
            b'e":"","text":"","locale":"en","deep_link":{"type":"content","resource_id":1}},"content_promotion'
            b'":{"type":"content","resource_id":1},"recommended_channel_ids":[1],"submitter":{"user_id":1},"re'
            b'viewer":{"user_id":1},"auto_approved":false,"notification_id":1,"user_id":1,"category":"","ackno'
            b'wledged":false,"label":"","text":"","details":{"like_count":1,"comment_count":1,"reply_count":1,'
            b'"acting_user_id":1,"acting_user_ids":[1],"post_text":"","post_id":1,"parent_post_id":1,"post_ids'
            b'":[1],"reply_post_ids":[1],"reply_text":"","featured_ids":[1],"views_count":1,"tracking_id":1,"m'
            b'essage":"","content_channel_id":1,"content_channel_name":"","content_channel_ids":[1],"channels_'
            b'count":1}}'
        ),
    ),
)
