"""Every sample against its reviewed golden file, field by field (``python -m intake_cli.goldens`` rewrites them)."""

from __future__ import annotations

import json
import shutil
import sys
from typing import TYPE_CHECKING, Any

import pytest

from intake_cli.goldens import expected_document, normalized_sample, sample_shapes, shapes_path, varied
from intake_cli.samples import expected_path, sample_files
from webhook_intake import registry
from webhook_intake import vendors as vendors_package
from webhook_intake.registry import VENDORS

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = pytest.mark.usefixtures("no_network")

SAMPLES = [(key, path) for key in VENDORS for path in sample_files(key)]
IDS = [f"{key}/{path.name}" for key, path in SAMPLES]


def fields(document: dict[str, Any]) -> dict[str, Any]:
    """Every field of every event and rejection, by a path that names it (so a failure says which)."""
    flat: dict[str, Any] = {}

    def walk(value: Any, path: str) -> None:
        if isinstance(value, dict) and value:
            for key, item in value.items():
                walk(item, f"{path}.{key}")
        elif isinstance(value, list) and value:
            for position, item in enumerate(value):
                walk(item, f"{path}[{position}]")
        else:
            flat[path] = value

    walk(document, "")
    return flat


@pytest.mark.parametrize(("vendor_key", "sample"), SAMPLES, ids=IDS)
def test_every_sample_becomes_exactly_its_golden_file(vendor_key: str, sample: Path) -> None:
    # Given a sample and the golden file reviewed beside it
    golden = expected_path(sample)
    assert golden.is_file(), f"no golden file for {sample.name}: run python -m intake_cli.goldens and review it"
    expected = json.loads(golden.read_text())

    # When the vendor's normalizer reads the sample as the consumer would
    actual = expected_document(vendor_key, sample)

    # Then every field is the reviewed one
    assert fields(actual) == fields(expected)


@pytest.mark.parametrize(("vendor_key", "sample"), SAMPLES, ids=IDS)
def test_each_event_keeps_its_exact_text_as_raw(vendor_key: str, sample: Path) -> None:
    text = sample.read_text()
    result = normalized_sample(vendor_key, sample)
    for event in result.events:
        assert event.raw.decode() in text
        assert json.loads(event.raw) in (
            json.loads(text),
            *json.loads(text).get(VENDORS[vendor_key].batch_field or "", []),
        )


def test_no_golden_file_is_left_without_its_sample() -> None:
    samples = {expected_path(path) for _, path in SAMPLES}
    goldens = {path for key in VENDORS for path in (sample_files(key)[0].parent).glob("*.expected.json")}
    assert goldens == samples


@pytest.mark.parametrize("vendor_key", sorted(VENDORS))
def test_the_shapes_shipped_are_the_samples_shapes(vendor_key: str) -> None:
    shipped = json.loads(shapes_path(vendor_key).read_text())
    assert shipped == sample_shapes(vendor_key), "run python -m intake_cli.goldens after changing a sample"


def test_rewriting_the_goldens_removes_those_of_samples_renamed_or_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a copy of the samples where one sample was renamed, its golden file left under the old name
    from intake_cli import goldens, samples

    copy = tmp_path / "events"
    shutil.copytree(samples.SAMPLES_DIR, copy, ignore=shutil.ignore_patterns("apigw", "sqs"))
    monkeypatch.setattr(samples, "SAMPLES_DIR", copy)
    monkeypatch.setattr(goldens, "SAMPLES_DIR", copy)
    monkeypatch.setattr(goldens, "shapes_path", lambda key: tmp_path / f"{key}.shapes.json")
    renamed = sample_files("firstup")[0]
    renamed.rename(renamed.with_name("renamed-" + renamed.name))

    # When the goldens are written again
    goldens.main()

    # Then the old golden file is gone, the new one written, and the output says so
    assert not expected_path(renamed).exists()
    assert expected_path(renamed.with_name("renamed-" + renamed.name)).is_file()
    assert "removed 1 of samples no longer there" in capsys.readouterr().out


def test_documented_variants_give_a_shape_for_each_combination_of_their_values_where_their_paths_are_held() -> None:
    # Given a variant for every element of a list, one for a nested field, one for another type only
    variants = [
        {"at": "users[].id", "values": ["7"]},
        {"at": "payload.kind", "values": [1, None]},
        {"at": "details", "source_types": ["other"], "values": [{}]},
    ]
    document = {"users": [{"id": 7}, {"id": 8}], "payload": {"kind": "a"}, "details": {"x": 1}}

    # When the document is varied
    found = varied(document, "this", variants)

    # Then each combination of the values of the variants whose paths it holds makes one copy; the document stays
    assert [(copied["users"], copied["payload"]["kind"]) for copied in found] == [
        ([{"id": "7"}, {"id": "7"}], "a"),
        ([{"id": 7}, {"id": 8}], 1),
        ([{"id": 7}, {"id": 8}], None),
        ([{"id": "7"}, {"id": "7"}], 1),
        ([{"id": "7"}, {"id": "7"}], None),
    ]
    assert all(copied["details"] == {"x": 1} for copied in found)
    assert document == {"users": [{"id": 7}, {"id": 8}], "payload": {"kind": "a"}, "details": {"x": 1}}
    # and a path the document does not hold makes none
    assert varied({"payload": 3}, "this", variants) == []


def test_a_variant_through_a_list_leaves_an_element_that_does_not_hold_the_path_as_it_was() -> None:
    # Given a path through two lists, and a document one of whose elements holds no list there
    variants = [{"at": "groups[].ids[]", "values": ["7"]}]
    document = {"groups": [{"ids": [1, 2]}, {"ids": "none"}]}

    # When the document is varied
    (found,) = varied(document, "this", variants)

    # Then the element holding the path takes the value, and the other keeps what it had
    assert found == {"groups": [{"ids": ["7", "7"]}, {"ids": "none"}]}


SCRATCH_VENDOR = {
    "__init__.py": """
from webhook_intake.registry import VendorSpec

SPEC = VendorSpec(
    key="relay", stem="Relay", path="/webhooks/relay", methods=("POST",), id_field="id",
    delivery_header="x-relay-delivery",
)
""",
    "client.py": """
import uuid


def headers(body, secret, now):
    return {"x-relay-delivery": str(uuid.uuid4()), "content-type": "application/json"}
""",
    "normalize.py": """
from webhook_intake.consumer.normalizing import VendorModel, VendorNormalizer, validate_leniently
from webhook_intake.vendors.relay import SPEC


class RelayEvent(VendorModel):
    id: str


class RelayNormalizer(VendorNormalizer):
    spec = SPEC
    type_map = {}

    def to_event(self, element, document, delivery):
        event = validate_leniently(RelayEvent, element.value, frozenset({"id"}))
        return self.event(element, delivery, model=event, event_id=event.id, source_type="posted",
                          vendor_time=None, time_present=False)


NORMALIZER = RelayNormalizer()
""",
}


@pytest.fixture
def relay(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A vendor whose own delivery id travels in a header of its own (as Firstup's), a new id each request."""
    package = tmp_path / "packages" / "relay"
    package.mkdir(parents=True)
    for name, text in SCRATCH_VENDOR.items():
        (package / name).write_text(text)
    monkeypatch.setattr(vendors_package, "__path__", [*vendors_package.__path__, str(package.parent)])
    registry.vendors.cache_clear()
    sample = tmp_path / "posted.json"
    sample.write_text('{"id": "r-1"}')
    yield sample
    registry.vendors.cache_clear()
    for module in [name for name in sys.modules if name.startswith(f"{registry.VENDORS_PACKAGE}.relay")]:
        del sys.modules[module]


def test_a_vendors_own_delivery_header_gives_its_samples_a_fixed_delivery_id(relay: Path) -> None:
    # Given a vendor whose client sends a new delivery id with each request, in its own header

    # When its sample's golden file is written twice
    first, second = expected_document("relay", relay), expected_document("relay", relay)

    # Then it is the same both times, and the event's correlation id is that delivery's id, as ingest makes it
    assert first == second
    (event,) = first["events"]
    assert event["correlation_id"] == event["delivery_id"] == "sample-posted"
