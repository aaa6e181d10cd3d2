"""Viafoura engagement (user-content-action) webhooks: batches of ``events``, fire and forget."""

from webhook_intake.registry import VendorSpec

SPEC = VendorSpec(
    key="viafoura-engagement",
    stem="ViafouraEngagement",
    path="/webhooks/viafoura/engagement",
    methods=("POST",),
    id_field="event_uuid",
    required=("message_type", "action"),
    batch_field="events",
    # The vendor's documented field names, frozen: stored bodies are compressed with it (store/body.py).
    store_dictionaries=(
        (
            b'{"request_uuid":"","time":1,"version":1,"events":[{"event_uuid":"","time":1,"section_uuid":"0000'
            b'0000-0000-4000-8000-","content_container_uuid":"","content_uuid":"","actor_uuid":"00000000-0000-'
            b'4000-8000-","author_uuid":"00000000-0000-4000-8000-","message_type":"livecomment_post","page_url'
            b'":"https://","action":"'
        ),
    ),
)
