"""What each sample becomes, written down: golden files and the documented shapes.

``python -m intake_cli.goldens`` rewrites, from the samples in ``events/``:

- ``events/<vendor>/<name>.expected.json`` beside each sample: the normalized events the
  sample becomes (and any event it holds that would be quarantined), for a fixed delivery
  (:func:`intake_cli.samples.sample_delivery`). Review the diff before committing it:
  ``tests/unit/test_goldens.py`` holds the code to these files, field by field.
- ``layers/shared/webhook_intake/vendors/<vendor>/shapes.json``: the shapes of the samples'
  events, and of the variants of their fields the vendor documents apart from its examples
  (``events/variants/<vendor>.json``), which the consumer treats as known
  (``webhook_intake.consumer.shapes``).
"""

from __future__ import annotations

import copy
import json
from typing import TYPE_CHECKING, Any

from intake_cli.local import ROOT
from intake_cli.samples import EXPECTED_SUFFIX, SAMPLES_DIR, expected_path, sample_delivery, sample_files
from webhook_intake.consumer.shapes import SHAPES_FILE, fingerprint, paths
from webhook_intake.registry import vendors

if TYPE_CHECKING:
    from pathlib import Path

    from webhook_intake.consumer.normalizing import Normalized, VendorNormalizer
    from webhook_intake.delivery import Delivery

VENDORS_DIR_PARTS = ("layers", "shared", "webhook_intake", "vendors")
VARIANTS_DIR = SAMPLES_DIR / "variants"


def normalized_sample(vendor_key: str, sample: Path) -> Normalized:
    """A sample run through its vendor's normalizer, as the consumer would on the sample delivery."""
    normalizer: VendorNormalizer = vendors()[vendor_key].normalizer()
    return normalizer.normalize(sample.read_text(encoding="utf-8"), sample_delivery(vendor_key, sample))


def expected_document(vendor_key: str, sample: Path) -> dict[str, Any]:
    """A sample's golden document: each normalized event (``raw`` left out: it is the sample) and each rejection."""
    result = normalized_sample(vendor_key, sample)
    return {
        "events": [event.model_dump(mode="json", exclude={"raw"}) for event in result.events],
        "rejected": [
            {
                "reason": rejected.reason,
                "message": rejected.message,
                "index": rejected.index,
                "event_id": rejected.event_id,
            }
            for rejected in result.rejected
        ],
    }


def sample_shapes(vendor_key: str) -> dict[str, dict[str, list[str]]]:
    """The shapes of a vendor's sample events and their documented variants: source_type → fingerprint → paths."""
    shapes: dict[str, dict[str, list[str]]] = {}
    variants = documented_variants(vendor_key)
    normalizer: VendorNormalizer = vendors()[vendor_key].normalizer()
    for sample in sample_files(vendor_key):
        delivery = sample_delivery(vendor_key, sample)
        for event in normalized_sample(vendor_key, sample).events:
            document = event.raw_document()
            shape = paths(document)
            shapes.setdefault(event.source_type, {})[fingerprint(shape)] = shape
            for each in varied(document, event.source_type, variants):
                shape = paths(each)
                source_type = _source_type(normalizer, delivery, each) or event.source_type
                shapes.setdefault(source_type, {})[fingerprint(shape)] = shape
    return {source_type: dict(sorted(found.items())) for source_type, found in sorted(shapes.items())}


def _source_type(normalizer: VendorNormalizer, delivery: Delivery, document: Any) -> str | None:
    """The type the consumer gives a varied event: a variant may be another spelling of its type, whose shapes the
    consumer looks up under that spelling (OpenWeb's ``liked-messages``)."""
    batch_field = normalizer.spec.batch_field
    body = json.dumps(document if batch_field is None else {batch_field: [document]})
    events = normalizer.normalize(body, delivery).events
    return events[0].source_type if events else None


def documented_variants(vendor_key: str) -> list[dict[str, Any]]:
    """What a vendor documents of its fields apart from its examples (``events/variants/<vendor>.json``).

    Each variant: ``at``, a path (``user.viafoura_id.id``; ``recipients[].…`` for each element of a
    list), the ``values`` the vendor documents there, and the ``source_types`` it applies to (all
    when absent).
    """
    path = VARIANTS_DIR / f"{vendor_key}.json"
    return list(json.loads(path.read_text(encoding="utf-8"))["variants"]) if path.is_file() else []


def varied(document: Any, source_type: str, variants: list[dict[str, Any]]) -> list[Any]:
    """``document`` with the documented values of the variants whose paths it holds, in every combination."""
    found = [document]
    for variant in variants:
        if source_type not in variant.get("source_types", [source_type]):
            continue
        for copied in found[:]:
            for value in variant["values"]:
                changed = copy.deepcopy(copied)
                if _set(changed, variant["at"].split("."), value):
                    found.append(changed)
    return found[1:]


def _set(node: Any, steps: list[str], value: Any) -> bool:
    """Put ``value`` where ``steps`` lead in ``node``, in place; whether ``node`` holds that path."""
    head, *rest = steps
    key = head.removesuffix("[]")
    if not isinstance(node, dict) or key not in node:
        return False
    if head.endswith("[]"):
        items = node[key]
        if not isinstance(items, list):
            return False
        if not rest:
            node[key] = [copy.deepcopy(value) for _ in items]
            return bool(items)
        return any([_set(item, rest, value) for item in items])  # a list: every element, not the first only
    if not rest:
        node[key] = copy.deepcopy(value)
        return True
    return _set(node[key], rest, value)


def shapes_path(vendor_key: str) -> Path:
    """The vendor package's ``shapes.json``."""
    return ROOT.joinpath(*VENDORS_DIR_PARTS, vendors()[vendor_key].package, SHAPES_FILE)


def dumps(document: Any) -> str:
    """How golden files and shapes are written (stable, reviewable)."""
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def main() -> None:
    """Rewrite every golden file and every vendor's shapes.json from the samples."""
    written, removed = 0, 0
    for vendor_key in vendors():
        samples = sample_files(vendor_key)
        for sample in samples:
            expected_path(sample).write_text(dumps(expected_document(vendor_key, sample)), encoding="utf-8")
            written += 1
        # A golden file whose sample was renamed or removed holds the mapping to nothing.
        kept = {expected_path(sample) for sample in samples}
        for golden in sorted((SAMPLES_DIR / vendor_key).glob("*" + EXPECTED_SUFFIX)):
            if golden not in kept:
                golden.unlink()
                removed += 1
        shapes_path(vendor_key).write_text(dumps(sample_shapes(vendor_key)), encoding="utf-8")
    gone = f", removed {removed} of samples no longer there" if removed else ""
    print(f"wrote {written} golden files and {len(vendors())} shapes files{gone}")


if __name__ == "__main__":
    main()
