"""docs/adding-a-vendor.md's checklist, held for every registered vendor: each place it names is there.

A vendor is found by the registry from its package; everything else it needs is in the places
the doc lists, and each check below says which one is missing and how to fill it. Only the
template as written is read (no expansion), so a missing row is named here, not in a
template error.
"""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import pytest

from intake_cli.goldens import VARIANTS_DIR, shapes_path
from intake_cli.invoke_events import INVOKE_DIR, SQS_DIR
from intake_cli.local import ROOT
from intake_cli.samples import DEV_SECRETS, SAMPLES_DIR, expected_path, load_secrets, sample_files
from intake_cli.template import read
from tests.helpers import EVENT_TYPES_DOC, documented_types
from webhook_intake.ingest.contract import Contract
from webhook_intake.registry import VENDORS, vendor

pytestmark = pytest.mark.usefixtures("no_network")

DOC = "docs/adding-a-vendor.md"
AS_WRITTEN = read()
SHAPE_LOOPS = ("Fn::ForEach::DeliveryIngest", "Fn::ForEach::PutPostDeleteIngest")
EVERY_VENDOR_LOOPS = {"Resources": "Fn::ForEach::Vendor", "Outputs": "Fn::ForEach::VendorOutputs"}
# events/ folders that are not a vendor's samples.
SHARED_FOLDERS = {INVOKE_DIR.name, SQS_DIR.name, VARIANTS_DIR.name, "pings", "negative"}
TESTS = Path(__file__).resolve().parents[1]
SAMPLES_README, SAMPLES_HEADING = "events/README.md", "# Sample request bodies"


@pytest.mark.parametrize("vendor_key", sorted(VENDORS))
def test_its_row_is_in_the_vendor_table_and_its_stem_in_the_loops(vendor_key: str) -> None:
    stem = vendor(vendor_key).stem
    rows = AS_WRITTEN["Mappings"]["Vendors"]
    assert stem in rows, f"template.yaml has no row {stem} under Mappings.Vendors: add it ({DOC}, step 2)"
    assert rows[stem]["Key"] == vendor_key, f"the row {stem} says Key {rows[stem]['Key']!r}, not {vendor_key!r}"
    shape_loops = [name for name in SHAPE_LOOPS if stem in AS_WRITTEN["Resources"][name][1]]
    assert len(shape_loops) == 1, f"{stem} must be in one route-shape loop of {', '.join(SHAPE_LOOPS)} ({DOC})"
    for section, name in EVERY_VENDOR_LOOPS.items():
        assert stem in AS_WRITTEN[section][name][1], f"add {stem} to the list of {name} in template.yaml ({DOC})"


@pytest.mark.parametrize("vendor_key", sorted(VENDORS))
def test_its_ingest_function_outlives_its_answer_deadline(vendor_key: str) -> None:
    # The ingest path answers a 5xx by the contract's deadline when the queue is slow; a function
    # that times out first answers nothing the vendor can read, and the delivery's fate is unknown.
    spec = vendor(vendor_key)
    timeout = AS_WRITTEN["Mappings"]["Vendors"][spec.stem]["IngestTimeout"]
    deadline = spec.contract().deadline_seconds
    assert timeout >= deadline + 1, (
        f"IngestTimeout {timeout} of {spec.stem} must be at least a second over its contract's"
        f" deadline_seconds ({deadline}): raise it, or lower the deadline inside the vendor's own timeout ({DOC})"
    )


@pytest.mark.parametrize("vendor_key", sorted(VENDORS))
def test_its_ingest_function_answers_before_api_gateway_stops_waiting(vendor_key: str) -> None:
    # An HTTP API waits 30 s for its integration (a cold start's init included), then answers with an error of its own.
    timeout = AS_WRITTEN["Mappings"]["Vendors"][vendor(vendor_key).stem]["IngestTimeout"]
    assert timeout <= 28, f"IngestTimeout {timeout} leaves a cold start no room inside API Gateway's 30 s ({DOC})"


@pytest.mark.parametrize("vendor_key", sorted(VENDORS))
def test_its_samples_have_their_goldens_shapes_and_invoke_events(vendor_key: str) -> None:
    samples = sample_files(vendor_key)
    assert samples, f"events/{vendor_key}/ holds no sample: put the vendor's documented examples there ({DOC})"
    regenerate = "run .venv/bin/python -m intake_cli.goldens, review and commit what it writes"
    for sample in samples:
        assert expected_path(sample).is_file(), f"{sample.name} has no golden file: {regenerate}"
    assert shapes_path(vendor_key).is_file(), f"the package has no shapes.json: {regenerate}"
    for directory in (INVOKE_DIR, SQS_DIR):
        missing = [sample.name for sample in samples if not (directory / vendor_key / sample.name).is_file()]
        assert not missing, (
            f"events/{directory.name}/{vendor_key}/ lacks {missing}: run .venv/bin/python -m intake_cli.invoke_events"
        )
    # A vendor's documented example is one of its types: `other` in a golden file means TYPE_MAP lacks it.
    unmapped = sorted(
        sample.name
        for sample in samples
        if any(event["event_type"] == "other" for event in json.loads(expected_path(sample).read_text())["events"])
    )
    assert not unmapped, f"{unmapped} normalize to event_type 'other': map their types in TYPE_MAP ({DOC}, step 1)"


@pytest.mark.parametrize("vendor_key", sorted(VENDORS))
def test_its_local_secret_is_one_its_contract_takes(vendor_key: str) -> None:
    spec = vendor(vendor_key)
    contract = spec.contract()
    # A contract of its own (a signature, say) says what its secret needs: else a secret that cannot
    # work is never reported (SecretProblems) and every delivery is refused without a word why.
    assert type(contract).secret_problems is not Contract.secret_problems, (
        f"{type(contract).__name__} must override secret_problems (HeaderTokenContract shows how)"
    )
    assert contract.credential_fields, (
        f"{type(contract).__name__} must name the secret fields holding its credentials (credential_fields)"
    )
    secret = load_secrets().get(vendor_key)
    where = DEV_SECRETS.relative_to(ROOT)
    assert isinstance(secret, dict), f"{where} has no object for {vendor_key}: add the vendor's local secret ({DOC})"
    assert contract.secret_problems(secret) == [], f"{where}: the {vendor_key} secret cannot authenticate anything"


@pytest.mark.parametrize("vendor_key", sorted(VENDORS))
def test_a_test_module_names_it(vendor_key: str) -> None:
    # The shared suites take every vendor from the registry; what is its own (identity, time, answers) needs tests
    quoted = f'"{vendor_key}"'
    named = [path for path in TESTS.rglob("test_*.py") if quoted in path.read_text(encoding="utf-8")]
    assert named, f"no test module names {quoted}: add tests of what is particular to it ({DOC}, step 3)"


def table_rows(path: str, heading: str) -> dict[str, str]:
    """The rows of the first table under ``heading`` in ``path``, by their first cell (its backquotes dropped)."""
    text = ("\n" + (ROOT / path).read_text(encoding="utf-8")).split(f"\n{heading}\n", 1)[1]
    lines = text[text.index("\n|") + 1 :].splitlines()
    rows = list(itertools.takewhile(lambda line: line.startswith("|"), lines))[2:]  # past the header and rule
    return {row.split("|")[1].strip().replace("`", ""): row for row in rows}


def readme_secrets() -> set[str]:
    """The vendor keys whose secret the README says how to set."""
    return set(re.findall(r"--secret-id \$STACK/([a-z0-9-]+) ", (ROOT / "README.md").read_text(encoding="utf-8")))


@pytest.mark.parametrize("vendor_key", sorted(VENDORS))
def test_its_rows_are_in_the_docs(vendor_key: str) -> None:
    spec = vendor(vendor_key)
    contracts = table_rows("README.md", "### The vendor contracts")
    assert vendor_key in contracts, f"README.md's vendor contracts have no row for {vendor_key} ({DOC}, step 3)"
    assert spec.path in contracts[vendor_key], f"README.md's {vendor_key} row does not name its route {spec.path}"
    # The suites expect each vendor's answers from its contract (tests/helpers.py): the README's row pins them.
    contract = spec.contract()
    cells = [cell.strip() for cell in contracts[vendor_key].split("|")[1:-1]]
    success, auth_failure = cells[3], cells[4]
    assert success.split(" ", 1)[0] == str(contract.success_status), (
        f"README.md's {vendor_key} row answers {success.split(' ', 1)[0]} on success, its contract"
        f" {contract.success_status}"
    )
    assert auth_failure == str(contract.auth_failure_status), (
        f"README.md's {vendor_key} row answers {auth_failure} to a wrong credential, its contract"
        f" {contract.auth_failure_status}"
    )
    assert vendor_key in readme_secrets(), (
        f"README.md does not say how to set the {vendor_key} secret (put-secret-value --secret-id $STACK/{vendor_key}:"
        f" the fields its contract reads) ({DOC}, step 3)"
    )
    assert f"{vendor_key}/" in table_rows(SAMPLES_README, SAMPLES_HEADING), (
        f"{SAMPLES_README} has no row for the folder {vendor_key}/ ({DOC}, step 3)"
    )
    for heading in ("## Identity", "## Time"):
        rows = table_rows(EVENT_TYPES_DOC, heading)
        assert vendor_key in rows, f"{EVENT_TYPES_DOC} has no row for {vendor_key} under {heading} ({DOC}, step 3)"
    tables = documented_types()
    assert vendor_key in tables, f"{EVENT_TYPES_DOC} has no ### {vendor_key} under By vendor ({DOC}, step 3)"
    assert tables[vendor_key] == dict(spec.normalizer().type_map), (
        f"{EVENT_TYPES_DOC}'s table of {vendor_key} types is not its TYPE_MAP: write the one as the other"
    )


def test_nothing_names_a_vendor_the_registry_lacks() -> None:
    # Every leftover at once: removing a vendor should not take a run per place it was named.
    registered, stems = set(VENDORS), {spec.stem for spec in VENDORS.values()}
    rows = set(AS_WRITTEN["Mappings"]["Vendors"])
    sample_folders = {path.name for path in SAMPLES_DIR.iterdir() if path.is_dir()} - SHARED_FOLDERS
    named = {
        f"{DEV_SECRETS.name} has objects": set(load_secrets()) - registered,
        "events/ has sample folders": sample_folders - registered,
        "events/variants/ has files": {path.stem for path in VARIANTS_DIR.glob("*.json")} - registered,
        "Mappings.Vendors has rows": rows - stems,
        "README.md's vendor contracts have rows": {
            row.split(" ", 1)[0] for row in table_rows("README.md", "### The vendor contracts")
        }
        - registered,
        **{
            f"{EVENT_TYPES_DOC} has rows under {heading}": set(table_rows(EVENT_TYPES_DOC, heading)) - registered
            for heading in ("## Identity", "## Time")
        },
        f"{EVENT_TYPES_DOC} has sections under By vendor": set(documented_types()) - registered,
        "README.md sets the secrets": readme_secrets() - registered,
        f"{SAMPLES_README} has rows of folders": {
            folder.removesuffix("/") for folder in table_rows(SAMPLES_README, SAMPLES_HEADING)
        }
        - registered,
        **{
            f"events/{directory.name}/ has folders": {path.name for path in directory.iterdir() if path.is_dir()}
            - registered
            for directory in (INVOKE_DIR, SQS_DIR)
        },
    }
    problems = [f"{place} of no registered vendor: {sorted(extra)}" for place, extra in named.items() if extra]
    loops = (*(("Resources", name) for name in SHAPE_LOOPS), *EVERY_VENDOR_LOOPS.items())
    for section, name in loops:
        extra = set(AS_WRITTEN[section][name][1]) - rows
        if extra:
            problems.append(f"the list of {name} names stems with no row in Mappings.Vendors: {sorted(extra)}")
    assert not problems, "\n".join(problems)


def test_the_readmes_summary_names_every_place_the_checklist_holds() -> None:
    # The README's "Adding a vendor" paragraph is the short form of the doc: a newcomer who follows it
    # must not be stopped by a check of a place it leaves out
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    summary = " ".join(readme[readme.index("\nAdding a vendor: ") :].split("\n\n", 1)[0].split())
    places = (
        "__init__.py",
        "contract.py",
        "normalize.py",
        "client.py",
        shapes_path(next(iter(VENDORS))).name,
        "Mappings.Vendors",
        "Fn::ForEach",
        DEV_SECRETS.relative_to(ROOT).as_posix(),
        "golden files",
        "sam local invoke",
        "test file",
        "vendor contracts",
        SAMPLES_README,
        EVENT_TYPES_DOC,
        DOC,
    )
    assert [place for place in places if place not in summary] == []
