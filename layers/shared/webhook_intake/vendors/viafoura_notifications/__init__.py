"""Viafoura notifications webhook: batches of ``notifications``, each for specific recipients."""

from webhook_intake.registry import VendorSpec

SPEC = VendorSpec(
    key="viafoura-notifications",
    stem="ViafouraNotifications",
    path="/webhooks/viafoura/notifications",
    methods=("POST",),
    id_field="notification_uuid",
    required=("notification_type",),
    batch_field="notifications",
    # The vendor's documented field names, frozen: stored bodies are compressed with it (store/body.py).
    store_dictionaries=(
        (
            b'{"request_uuid":"","time":1,"version":1,"notifications":[{"notification_type":"","notification_u'
            b'uid":"","time":1,"section_uuid":"00000000-0000-4000-8000-","content_container_uuid":"","user":{"'
            b'name":"","viafoura_id":{"uuid":"00000000-0000-4000-8000-","id":""},"external_id":{"provider":"",'
            b'"id":""}},"recipients":[{"name":"","viafoura_id":{"uuid":"00000000-0000-4000-8000-","id":""},"ex'
            b'ternal_id":{"provider":"","id":""}}],"payload":{"url":"https://","image_url":"https://","title":'
            b'"","description":"","topic_id":"","content":{"uuid":"","body":""},"target_content_uuid":"'
        ),
    ),
)
