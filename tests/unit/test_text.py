"""The one canonical JSON form (duplicates, conflicts and hashed ids rest on it) and the nesting count."""

from __future__ import annotations

import json

import pytest

from webhook_intake.text import canonical_json, nests_deeper_than


def canonical(text: str) -> str:
    return canonical_json(json.loads(text))


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ('{"n": 1}', '{"n": 1.0}'),
        ('{"n": 100}', '{"n": 1e2}'),
        ('{"n": 10000000000000000}', '{"n": 1e16}'),  # past 2**53, still written in full
        ('{"n": 0}', '{"n": -0.0}'),
        ('{"b": [2.50], "a": "v1.0"}', '{"a":"v1.0","b":[2.5]}'),
    ],
)
def test_one_number_written_two_ways_is_one_document(first: str, second: str) -> None:
    assert canonical(first) == canonical(second)


@pytest.mark.parametrize(
    ("first", "second"),
    [('{"n": true}', '{"n": 1}'), ('{"n": false}', '{"n": 0}'), ('{"n": "1"}', '{"n": 1}'), ('{"n": 1}', '{"n": 1.5}')],
)
def test_values_of_other_json_types_or_values_stay_apart(first: str, second: str) -> None:
    assert canonical(first) != canonical(second)


def test_a_whole_number_of_1e21_or_more_keeps_its_exponent_as_rfc_8785_writes_it() -> None:
    assert canonical('{"n": 1e21}') == '{"n":1e+21}'
    assert canonical('{"n": 1e20}') == '{"n":100000000000000000000}'


@pytest.mark.parametrize(
    ("text", "deeper"),
    [
        ("[" * 100 + "]" * 100, False),
        ("[" * 101 + "]" * 101, True),
        ('["' + "[" * 300 + '"]', False),  # brackets in a string
        ('{"a": ' + "[" * 150 + "]" * 150 + ', "a": 1}', True),  # under a key Python reads twice
        ('["\\"[[[", ' + "[" * 99 + "]" * 99 + "]", False),  # an escaped quote does not end the string
    ],
)
def test_nesting_is_counted_in_the_text(text: str, deeper: bool) -> None:
    json.loads(text)
    assert nests_deeper_than(text) is deeper
