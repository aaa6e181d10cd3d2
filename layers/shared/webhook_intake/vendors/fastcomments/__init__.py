"""FastComments comment webhooks: one ``WebhookComment`` per delivery, the event in the path."""

from webhook_intake.registry import VendorSpec

TIMESTAMP_HEADER = "x-fastcomments-timestamp"
"""The signing time; the consumer dates an event by it when the comment names no time of its own."""

SPEC = VendorSpec(
    key="fastcomments",
    stem="FastComments",
    path="/webhooks/fastcomments/{event}",
    methods=("PUT", "POST", "DELETE"),
    id_field="id",
    kept_headers=(TIMESTAMP_HEADER,),
    # The vendor's documented field names, frozen: stored bodies are compressed with it (store/body.py).
    store_dictionaries=(
        (
            b'{"id":"","tenantId":"","urlId":"","url":"https://","pageTitle":"","userId":"","anonUserId":"","c'
            b'ommenterEmail":"","commenterName":"","commenterLink":"","comment":"","commentHTML":"<p></p>","ex'
            b'ternalId":"","parentId":null,"date":"20","votes":0,"votesUp":0,"votesDown":0,"verified":true,"ve'
            b'rifiedDate":1,"reviewed":false,"avatarSrc":"https://","isSpam":false,"aiDeterminedSpam":false,"h'
            b'asImages":false,"pageNumber":0,"pageNumberOF":0,"pageNumberNF":0,"approved":true,"locale":"en_us'
            b'","mentions":[{"id":"","tag":"@","rawTag":"@","type":"user","sent":true}],"domain":"","moderatio'
            b'nGroupIds":[]}'
        ),
    ),
)
