"""`intake shapes`: documented shapes known from the start, a vendor's new shape shown with what changed."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from intake_cli.samples import SAMPLES_DIR
from tests.helpers import (
    cli,
    cli_json,
    consumer_dynamodb_hook,
    depth,
    dlq_url,
    handler_logs,
    publish_outputs,
    sample_document,
    send,
    send_body,
    stored,
    stored_ids,
)

if TYPE_CHECKING:
    import boto3

    from intake_cli.runtime import LocalRuntime


def test_documented_shapes_are_known_and_a_new_one_is_listed_with_its_changes(
    aws: boto3.session.Session, runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    publish_outputs(aws, runtime)
    stack = runtime.stack.name
    # Given OpenWeb's own like example, and a like in which OpenWeb renamed a field and added one
    send(runtime, "openweb", SAMPLES_DIR / "openweb" / "liked-message.json", secrets)
    changed = {
        "event_id": "shape-1",
        "type": "liked-message",
        "user": {"user_id": "u-1"},
        "liker": {"user_id": "u-2", "display_name": "Liker"},
        "comment": {"id": "c-1", "body": "renamed from content"},
        "brand_new_field": 3,
    }
    send_body(runtime, "openweb", changed, secrets["openweb"])
    # and an event type no documentation mentions
    send_body(runtime, "openweb", {"event_id": "shape-2", "type": "poll-voted", "poll": {"id": 1}}, secrets["openweb"])
    runtime.drain()

    # When the shapes are listed
    listed = cli_json("shapes", "--stack", stack, "--vendor", "openweb", "--json")

    # Then every documented type is known from the start, and exactly the two new shapes are new
    documented = {shape["source_type"] for shape in listed if shape["origin"] == "documented"}
    assert {"liked-message", "user-followed", "message-approved"} <= documented
    new = {shape["source_type"]: shape for shape in listed if shape["origin"] == "new"}
    assert set(new) == {"liked-message", "poll-voted"}
    like = new["liked-message"]
    assert "brand_new_field:number" in like["added"]
    assert "comment.body:string" in like["added"]
    assert like["compared_with"] is not None
    assert new["poll-voted"]["compared_with"] is None
    assert all(":" in path for shape in listed for path in shape["paths"])

    # And --new leaves the documented ones out; the table and --paths read without a terminal
    assert {shape["origin"] for shape in cli_json("shapes", "--stack", stack, "--new", "--json")} == {"new"}
    code, output = cli("shapes", "--stack", stack, "--vendor", "openweb", "--new", "--paths")
    assert code == 0, output
    assert "+ brand_new_field:number" in output
    assert "poll-voted" in output


def test_the_values_of_a_new_shape_are_never_kept(
    aws: boto3.session.Session, runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    publish_outputs(aws, runtime)
    secret_text = "a comment body nobody should see again"
    event = {"event_id": "shape-3", "type": "user-mentioned", "comment": {"content": secret_text}, "extra": "x@y.z"}
    send_body(runtime, "openweb", event, secrets["openweb"])
    runtime.drain()
    code, output = cli("shapes", "--stack", runtime.stack.name, "--json")
    assert code == 0
    assert secret_text not in output
    assert "x@y.z" not in output


def test_a_type_or_key_of_any_length_is_kept_as_a_shape_once_not_tried_again_and_again(
    aws: boto3.session.Session, runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    publish_outputs(aws, runtime)
    long_type = "t" * 1100  # over the 1,024 bytes of a DynamoDB sort key
    # Given an event whose type is over a sort key's length, and one with 400 keys of 2 KB (CJK: 3 bytes each)
    send_body(runtime, "openweb", {"event_id": "shape-long", "type": long_type}, secrets["openweb"])
    wide = {"event_id": "shape-wide", "type": "poll-voted", **{f"{index:04d}" + "字" * 700: 1 for index in range(400)}}
    send_body(runtime, "openweb", wide, secrets["openweb"])
    with handler_logs() as logs:
        runtime.drain()
        # and the consumer runs again
        send_body(runtime, "openweb", {"event_id": "shape-next", "type": "user-followed"}, secrets["openweb"])
        runtime.drain()

    # Then both shapes are kept (the type cut, the paths cut), and no write of them was refused
    types = {shape["source_type"] for shape in cli_json("shapes", "--stack", runtime.stack.name, "--new", "--json")}
    assert {long_type[:512], "poll-voted"} <= types
    (wide_shape,) = [
        shape
        for shape in cli_json("shapes", "--stack", runtime.stack.name, "--new", "--json")
        if shape["source_type"] == "poll-voted"
    ]
    assert all(len(path.encode()) <= 512 for path in wide_shape["paths"])
    assert "shape not recorded" not in logs.getvalue()


def test_what_a_vendor_documents_is_no_new_shape_and_a_field_renamed_or_dropped_is_one(
    aws: boto3.session.Session, runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    publish_outputs(aws, runtime)
    stack = runtime.stack.name
    # Given Firstup notifications carrying the `details` its page documents for other categories than the samples'
    notification = sample_document("firstup", "user_notification_created")
    push = {"channel_id": 2038475, "content_id": 8999237, "tracking_id": 123412, "message": "Notification message"}
    featured = {"content_id": 234235, "featured_ids": [97345, 234235]}
    for index, details in enumerate((push, featured)):
        body = {**notification, "id": f"shape-doc-{index}", "category": "push", "details": details}
        send_body(runtime, "firstup", body, secrets["firstup"])
        updated = {**body, "name": "user_notification_updated", "acknowledged": True}
        send_body(runtime, "firstup", updated, secrets["firstup"])
    # and a Viafoura like whose user's and recipient's ids are strings (its User object), and one with the user's only
    envelope = sample_document("viafoura-notifications", "like")
    like = envelope["notifications"][0]
    like["user"]["viafoura_id"]["id"] = "1234567890"
    strings = json.loads(json.dumps(like))
    strings["recipients"][0]["viafoura_id"]["id"] = "1234567891"
    notifications = [{**note, "notification_uuid": f"shape-doc-{index}"} for index, note in enumerate((like, strings))]
    vendor = "viafoura-notifications"
    send_body(runtime, vendor, {**envelope, "notifications": notifications}, secrets[vendor])
    runtime.drain()

    # Then none of them is a new shape
    assert cli_json("shapes", "--stack", stack, "--new", "--json") == []

    # When Firstup renames a documented field of a category, and Viafoura drops one
    renamed = {**notification, "id": "shape-doc-renamed", "category": "push", "details": {**push, "trackingId": 1}}
    renamed["details"].pop("tracking_id")
    send_body(runtime, "firstup", renamed, secrets["firstup"])
    dropped = {key: value for key, value in like.items() if key != "content_container_uuid"}
    send_body(
        runtime, vendor, {**envelope, "notifications": [{**dropped, "notification_uuid": "dropped"}]}, secrets[vendor]
    )
    runtime.drain()

    # Then each is new, shown with what changed
    new = {shape["vendor"]: shape for shape in cli_json("shapes", "--stack", stack, "--new", "--json")}
    assert set(new) == {"firstup", vendor}
    assert "details.trackingId:number" in new["firstup"]["added"]
    assert new[vendor]["missing"] == ["content_container_uuid:string"]


def test_viafoura_notification_ids_sent_as_numbers_as_its_example_code_does_are_no_new_shape(
    aws: boto3.session.Session, runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    publish_outputs(aws, runtime)
    # Given notifications whose id, section and container are numbers, as Viafoura's example code sends them
    # where its docs have strings (docs/event-types.md, "Identity"), one of them at a time and all together
    envelope = sample_document("viafoura-notifications", "reply")
    reply = envelope["notifications"][0]
    numbers = {"notification_uuid": 9001, "section_uuid": 17, "content_container_uuid": 4242}
    notes = [{**reply, "notification_uuid": f"numeric-{name}", name: value} for name, value in numbers.items()]
    notes.append({**reply, **numbers})
    vendor = "viafoura-notifications"
    send_body(runtime, vendor, {**envelope, "notifications": notes}, secrets[vendor])
    runtime.drain()

    # Then each is stored, and none is listed as a shape Viafoura started sending
    assert {"9001", "numeric-section_uuid", "numeric-content_container_uuid"} <= set(stored_ids(runtime, vendor))
    assert cli_json("shapes", "--stack", runtime.stack.name, "--new", "--json") == []


def test_openweb_content_sent_as_plain_strings_as_its_field_table_types_it_is_no_new_shape(
    aws: boto3.session.Session, runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    publish_outputs(aws, runtime)
    # Given a like and a reply whose comment's (and reply's) content is a list of strings, as OpenWeb's field
    # table types it ("array[string]"), where its examples send {type, text, url} objects
    like = sample_document("openweb", "liked-message")
    reply = sample_document("openweb", "replied-message")
    like = {**like, "event_id": "strings-like", "comment": {**like["comment"], "content": ["Tom &amp; Jerry"]}}
    reply = {
        **reply,
        "event_id": "strings-reply",
        "comment": {**reply["comment"], "content": ["the comment"]},
        "reply": {**reply["reply"], "content": ["the reply", "and a second line"]},
    }
    for event in (like, reply):
        send_body(runtime, "openweb", event, secrets["openweb"])
    runtime.drain()

    # Then both are stored with their text, and neither is listed as a shape OpenWeb started sending
    texts = {event["event_id"]: event["content"]["text"] for event in stored(runtime, "openweb")}
    assert texts == {"strings-like": "Tom & Jerry", "strings-reply": "the reply\nand a second line"}
    assert cli_json("shapes", "--stack", runtime.stack.name, "--new", "--json") == []


def test_openweb_types_spelled_as_its_page_also_spells_them_are_no_new_shape(
    aws: boto3.session.Session, runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    publish_outputs(aws, runtime)
    # Given OpenWeb's like and reply examples, typed as its page's table of types and its configuration example
    # also spell them
    like = sample_document("openweb", "liked-message")
    reply = sample_document("openweb", "replied-message")
    send_body(runtime, "openweb", {**like, "event_id": "spelled-like", "type": "liked-messages"}, secrets["openweb"])
    spelled = {**reply, "event_id": "spelled-reply", "type": "replied-your-message"}
    send_body(runtime, "openweb", spelled, secrets["openweb"])
    runtime.drain()

    # Then both are stored as their usual types are, and neither is listed as a shape OpenWeb started sending
    types = {event["event_id"]: event["event_type"] for event in stored(runtime, "openweb")}
    assert types == {"spelled-like": "comment.liked", "spelled-reply": "reply.created"}
    assert cli_json("shapes", "--stack", runtime.stack.name, "--new", "--json") == []


def test_a_fastcomments_comment_with_an_external_id_as_its_page_documents_it_is_no_new_shape(
    aws: boto3.session.Session, runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    publish_outputs(aws, runtime)
    # Given a comment and a reply whose externalId is a string, as FastComments' WebhookComment documents it, where
    # its examples send null
    vendor = "fastcomments"
    comment = json.loads((SAMPLES_DIR / vendor / "comment-created.json").read_text())
    reply = json.loads((SAMPLES_DIR / vendor / "comment-updated.reply.json").read_text())
    send_body(runtime, vendor, {**comment, "externalId": "cms-comment-1"}, secrets[vendor], "comment-created")
    send_body(runtime, vendor, {**reply, "externalId": "cms-reply-1"}, secrets[vendor], "comment-updated")
    runtime.drain()

    # Then both are stored, and neither is listed as a shape FastComments started sending
    assert {event["event_type"] for event in stored(runtime, vendor)} == {"comment.created", "reply.updated"}
    assert cli_json("shapes", "--stack", runtime.stack.name, "--new", "--json") == []


def test_a_shape_dynamodb_throttles_is_kept_with_a_later_invocation_and_never_holds_its_event_back(
    aws: boto3.session.Session, runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    publish_outputs(aws, runtime)
    stack = runtime.stack.name

    def throttle_shapes(request: Any, **_: Any) -> None:
        if b'"shape#' in (request.body or b""):
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "injected"}}, "PutItem")

    # Given an event of a new shape, consumed while DynamoDB throttles every write of a shape
    send_body(
        runtime, "openweb", {"event_id": "shape-held", "type": "poll-voted", "poll": {"id": 1}}, secrets["openweb"]
    )
    with handler_logs() as logs, consumer_dynamodb_hook(throttle_shapes):
        runtime.drain()

    # Then the event is stored, nothing waits in the dead-letter queue; the shape is not listed yet, the log says why
    assert "shape-held" in stored_ids(runtime, "openweb")
    assert depth(runtime, dlq_url(runtime, "openweb")) == 0
    assert "poll-voted" not in {
        shape["source_type"] for shape in cli_json("shapes", "--stack", stack, "--new", "--json")
    }
    assert "shape not recorded" in logs.getvalue()
    assert "ThrottlingException" in logs.getvalue()

    # When the next delivery is consumed with DynamoDB well again
    send_body(runtime, "openweb", {"event_id": "shape-next", "type": "user-followed"}, secrets["openweb"])
    runtime.drain()

    # Then the throttled shape is kept after all
    assert "poll-voted" in {shape["source_type"] for shape in cli_json("shapes", "--stack", stack, "--new", "--json")}


def test_a_key_holding_a_line_feed_fakes_no_path_line(
    aws: boto3.session.Session, runtime: LocalRuntime, secrets: dict[str, Any]
) -> None:
    publish_outputs(aws, runtime)
    # Given an OpenWeb follow with a key whose line feed is followed by what reads as a missing path
    body = {"event_id": "lf-1", "type": "user-followed", "user": {"user_id": "u-1"}, "x\n  - fake.path:string": 1}
    send_body(runtime, "openweb", body, secrets["openweb"])
    runtime.drain()

    # When the operator reads what the new shape adds and lacks
    code, output = cli("shapes", "--stack", runtime.stack.name, "--vendor", "openweb", "--new", "--paths")

    # Then the key is one added path, its line feed shown as its escape: no line of its own
    assert code == 0, output
    assert "+ x\\x0a  - fake.path:string:number" in output
    assert not [line for line in output.splitlines() if line.strip().startswith("- fake.path")]


def test_every_page_of_a_vendors_new_shapes_is_read(aws: boto3.session.Session) -> None:
    # Given three new shapes kept for OpenWeb, and a table that answers a query one item a page
    from intake_cli.shapes import read_seen

    dynamodb = aws.client("dynamodb")
    keys = [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]
    attributes = [{"AttributeName": name, "AttributeType": "S"} for name in ("pk", "sk")]
    dynamodb.create_table(
        TableName="events", KeySchema=keys, AttributeDefinitions=attributes, BillingMode="PAY_PER_REQUEST"
    )
    for number in range(3):
        item = {"pk": "shape#openweb", "sk": f"f-{number}", "source_type": "poll-voted", "fingerprint": f"f-{number}"}
        dynamodb.put_item(TableName="events", Item={key: {"S": value} for key, value in item.items()})
    pages: list[int] = []

    def one_a_page(params: dict[str, Any], **_: Any) -> None:
        params["Limit"] = 1
        pages.append(1)

    dynamodb.meta.events.register("provide-client-params.dynamodb.Query", one_a_page)

    # When the kept shapes are read, then every one is, page after page
    assert sorted(shape.fingerprint for shape in read_seen(dynamodb, "events", "openweb")) == ["f-0", "f-1", "f-2"]
    assert len(pages) >= 3
