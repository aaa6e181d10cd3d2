"""docs/adding-a-vendor.md, followed to the letter: its package files and template rows make a working vendor.

The files are the doc's own code blocks, written to a scratch vendor directory; the template
is the repository's with the doc's two rows added. Nothing else is touched: no list of
vendors, no test helper, no other template line.
"""

from __future__ import annotations

import importlib
import json
import random
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest

from benchmarks import load
from intake_cli.provision import provision
from intake_cli.runtime import LocalRuntime
from intake_cli.samples import build_request, load_secrets
from intake_cli.template import TEMPLATE_PATH, SamTemplate
from tests.helpers import load_state
from webhook_intake import registry
from webhook_intake.store import body as stored_bodies
from webhook_intake.store.reads import EventReader

if TYPE_CHECKING:
    from collections.abc import Iterator

DOC = Path(__file__).resolve().parents[2] / "docs" / "adding-a-vendor.md"
BLOCK = re.compile(r"```(python|yaml)\n(.*?)```", re.DOTALL)


def doc_blocks() -> tuple[dict[str, str], list[str]]:
    """The doc's package files (by the path on their first line) and its YAML snippets, in order."""
    files: dict[str, str] = {}
    snippets: list[str] = []
    for language, text in BLOCK.findall(DOC.read_text()):
        if language == "python":
            first, _, rest = text.partition("\n")
            files[first.removeprefix("# ").strip()] = rest
        else:
            snippets.append(text)
    return files, snippets


STEM_LIST = re.compile(r"^    - \[([A-Za-z0-9, ]+)\]$", re.MULTILINE)


def stem_list(text: str) -> list[str]:
    """The stems of a written-out loop list (``- [A, B]``)."""
    found = STEM_LIST.search(text)
    assert found is not None, text
    return [stem.strip() for stem in found.group(1).split(",")]


def with_acme(template: str, doc_stems: list[str], named: set[str]) -> tuple[str, int]:
    """The template with Acme added as the doc adds it, and how many lists it was added to.

    The doc's list is a template list as the doc was written, plus Acme: a list that begins with
    the doc's stems, followed only by vendors added since (stems the doc names nowhere), gets Acme
    at its end, as a newcomer who added a vendor before would read the doc.
    """
    assert doc_stems[-1] == "Acme"
    before = doc_stems[:-1]
    extended = 0

    def add(found: re.Match[str]) -> str:
        nonlocal extended
        stems = [stem.strip() for stem in found.group(1).split(",")]
        if stems[: len(before)] != before or named.intersection(stems[len(before) :]):
            return found.group(0)
        extended += 1
        return f"    - [{found.group(1)}, Acme]"

    return STEM_LIST.sub(add, template), extended


@pytest.fixture
def acme(tmp_path: Path) -> Iterator[SamTemplate]:
    """The doc's vendor package importable as ``webhook_intake.vendors.acme``; the doc's template."""
    files, (row, shape_stems, all_stems) = doc_blocks()
    assert set(files) == {"acme/__init__.py", "acme/contract.py", "acme/normalize.py", "acme/client.py"}
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    vendors_package = importlib.import_module(registry.VENDORS_PACKAGE)
    vendors_package.__path__.append(str(tmp_path))
    registry.vendors.cache_clear()

    template = TEMPLATE_PATH.read_text()
    assert template.count("  Vendors:\n") == 1
    template = template.replace("  Vendors:\n", "  Vendors:\n" + row, 1)
    named = {stem for stems in (shape_stems, all_stems) for stem in stem_list(stems)}
    for stems, loops in ((shape_stems, 1), (all_stems, 2)):
        template, extended = with_acme(template, stem_list(stems), named)
        assert extended == loops, stems
    path = tmp_path / "template.yaml"
    path.write_text(template)
    try:
        yield SamTemplate(path)
    finally:
        vendors_package.__path__.remove(str(tmp_path))
        registry.vendors.cache_clear()
        # What the process remembers of the vendor goes with it: its body dictionaries too.
        stored_bodies._dictionary.cache_clear()
        for module in [name for name in sys.modules if name.startswith(f"{registry.VENDORS_PACKAGE}.acme")]:
            del sys.modules[module]


def test_the_registry_finds_the_package_and_the_template_makes_its_resources(acme: SamTemplate) -> None:
    assert registry.vendor("acme").stem == "Acme"
    assert "acme" in registry.VENDORS
    for logical_id in ("AcmeQueue", "AcmeDeadLetterQueue", "AcmeSecret", "AcmeFunctionsAlarm", "AcmeIngestFunction"):
        assert logical_id in acme.resources, logical_id
    (ingest,) = [spec for spec in acme.functions() if spec.logical_id == "AcmeIngestFunction"]
    assert [route.route_key for route in ingest.routes] == ["POST /webhooks/acme"]


def test_an_acme_delivery_is_authenticated_stored_and_normalized_on_the_local_stack(
    acme: SamTemplate, aws: boto3.session.Session
) -> None:
    secrets: dict[str, Any] = {**load_secrets(), "acme": {"tokens": ["dev-acme-token"]}}
    runtime = LocalRuntime(provision(acme, aws, "wi-acme", secrets), aws, retry_visibility=0)
    event = {"id": "a-1", "type": "comment.posted", "time": time.time() - 60, "user_id": "u-1", "comment_id": "c-1"}
    body = json.dumps({**event, "text": "hello"}).encode()

    request = build_request("acme", body, secrets["acme"])
    assert runtime.request(request.method, request.path, request.headers, request.body).status == 200
    wrong = build_request("acme", body, secrets["acme"], bad_auth=True)
    assert runtime.request(wrong.method, wrong.path, wrong.headers, wrong.body).status == 401
    runtime.drain()

    stored = EventReader(runtime.stack.tables["EventsTable"]).get("acme", "a-1")
    assert stored is not None
    assert (stored["event_type"], stored["source_type"], stored["time_source"]) == (
        "comment.created",
        "comment.posted",
        "vendor",
    )
    assert (stored["actor"]["id"], stored["content"]["id"], stored["content"]["text"]) == ("u-1", "c-1", "hello")
    assert stored["raw_text"] == body.decode()
    dlq = runtime.stack.queues["AcmeDeadLetterQueue"]
    attributes = boto3.client("sqs").get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])
    assert attributes["Attributes"]["ApproximateNumberOfMessages"] == "0"


def test_an_acme_id_sent_as_a_whole_number_with_a_fraction_is_stored_as_its_digits(
    acme: SamTemplate, aws: boto3.session.Session
) -> None:
    # Given the stack with Acme, and an event whose ids a re-serializing client wrote as 12345.0
    secrets: dict[str, Any] = {**load_secrets(), "acme": {"tokens": ["dev-acme-token"]}}
    runtime = LocalRuntime(provision(acme, aws, "wi-acme-ids", secrets), aws, retry_visibility=0)
    body = b'{"id": 12345.0, "type": "comment.posted", "user_id": 777.0, "comment_id": 1.2345e4}'

    # When it is delivered and consumed
    request = build_request("acme", body, secrets["acme"])
    assert runtime.request(request.method, request.path, request.headers, request.body).status == 200
    runtime.drain()

    # Then it is stored under the id ingest read, its digits, and so are the ids of its parts
    stored = EventReader(runtime.stack.tables["EventsTable"]).get("acme", "12345")
    assert stored is not None
    assert (stored["actor"]["id"], stored["content"]["id"]) == ("777", "12345")


def test_make_load_accounts_for_the_new_vendors_events(
    acme: SamTemplate, aws: boto3.session.Session, tmp_path: Path
) -> None:
    # Given an Acme sample (an event keyed by its own id, not by a name and hash) and the stack with Acme's rows
    secrets: dict[str, Any] = {**load_secrets(), "acme": {"tokens": ["dev-acme-token"]}}
    runtime = LocalRuntime(provision(acme, aws, "wi-acme-load", secrets), aws, retry_visibility=0)
    sample = tmp_path / "comment.json"
    sample.write_text(json.dumps({"id": "a-1", "type": "comment.posted", "time": time.time() - 60, "text": "hello"}))

    # When `make load` plans fresh deliveries of it, sends them and the consumer takes them
    plan, rng = load.Plan(), random.Random(7)
    plan.deliveries.extend(load._planned("new", n, rng, plan, [("acme", sample)]) for n in range(3))
    outcomes = []
    for delivery in plan.deliveries:
        request = build_request(delivery.vendor, delivery.body, secrets["acme"], delivery.sample)
        answer = runtime.request(request.method, request.path, request.headers, request.body)
        outcomes.append(load.Outcome(answer.status, 0.0))
    runtime.drain()

    # Then its account finds every event stored as sent: none missing, none stored unasked
    counts = load.verify(load_state(runtime), plan, outcomes)["counts"]
    assert counts.get("stored as sent") == 3, counts
    assert all(counts.get(name, 0) == 0 for name in load.WRONG), counts


def ruff(command: str, path: str, text: str) -> subprocess.CompletedProcess[str]:
    """The project's ruff over ``text`` as if it were the file at ``path``."""
    arguments = [sys.executable, "-m", "ruff", command, "--stdin-filename", path, "-"]
    return subprocess.run(arguments, input=text, cwd=DOC.parents[1], capture_output=True, text=True, check=False)


def test_the_docs_package_code_passes_the_projects_linter_and_formatter() -> None:
    files, _ = doc_blocks()
    for name, text in files.items():
        path = f"layers/shared/webhook_intake/vendors/{name}"
        checked = ruff("check", path, text)
        assert checked.returncode == 0, (name, checked.stdout)
        assert ruff("format", path, text).stdout == text, name


DOTTED_NAME = re.compile(r"`(webhook_intake(?:\.\w+)+)")


def resolved(name: str) -> object:
    """What ``name`` (``package.module.attribute...``) is: its longest importable module, then attributes."""
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found: object = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attribute in parts[cut:]:
            found = getattr(found, attribute)
        return found
    raise ImportError(name)


def test_every_name_the_doc_gives_in_the_package_exists() -> None:
    # A newcomer imports what the doc names (its own made-up vendor aside): a name that moved must move here too
    names = sorted({name for name in DOTTED_NAME.findall(DOC.read_text()) if ".vendors.acme" not in name})
    assert "webhook_intake.ingest.contract.token_list_problems" in names
    missing = []
    for name in names:
        try:
            resolved(name)
        except (ImportError, AttributeError):
            missing.append(name)
    assert missing == [], f"{DOC.name} names what the package does not hold: {missing}"
