"""The loader: values, positions, and every way a file can fail to be a JSON object."""

from __future__ import annotations

import pytest

from specgen.spec.loader import load_bytes, load_text


def test_positions_of_values_and_keys():
    loaded = load_text('{\n  "a": [1, {"b": 2.5}],\n  "c/d": "x"\n}', "f.json")
    assert loaded.errors == []
    assert loaded.data == {"a": [1, {"b": 2.5}], "c/d": "x"}
    assert loaded.source.locate("/a/1/b") == (2, 18)
    assert loaded.source.locate("/a/1/b", key=True) == (2, 13)
    assert loaded.source.locate("/c~1d") == (3, 10)
    # A pointer below an existing value falls back to the nearest parent.
    assert loaded.source.locate("/a/1/missing") == (2, 12)


def test_int_and_float_are_kept_apart():
    assert load_text("[3, 3.0, 1e2, -0]").data == [3, 3.0, 100.0, 0]
    assert isinstance(load_text("[3.0]").data[0], float)


@pytest.mark.parametrize(
    "text, position, message",
    [
        ("", (1, 1), "the file is empty"),
        ("   \n ", (1, 1), "the file is empty"),
        ('{"a": 1,}', (1, 8), "trailing comma before '}'"),
        ('{"a": [1, 2, ]}', (1, 12), "trailing comma before ']'"),
        ('{"a": NaN}', (1, 7), "NaN is not valid JSON"),
        ('{"a": -Infinity}', (1, 7), "-Infinity is not valid JSON"),
        ('{"a": 1e999}', (1, 7), "out of range"),
        ('{"a": 1} x', (1, 10), "unexpected text after the JSON value"),
        ('{"a" 1}', (1, 6), "expected ':'"),
        ('{"a": "b', (1, 7), "unterminated string"),
        ("{\n  'a': 1}", (2, 3), "expected a key in double quotes"),
        ("[1, 2", (1, 6), "expected ','"),
    ],
)
def test_malformed(text, position, message):
    loaded = load_text(text, "f.json")
    assert loaded.data is None
    (error,) = loaded.errors
    assert (error.line, error.column) == position
    assert message in error.message


def test_duplicate_keys_are_all_reported():
    loaded = load_text('{"a": 1,\n "a": 2,\n "b": {"c": 1, "c": 1}}', "f.json")
    assert [(e.pointer, e.line, e.column) for e in loaded.errors] == [("/a", 2, 2), ("/b/c", 3, 16)]
    assert all("duplicate key" in e.message for e in loaded.errors)


def test_not_utf8():
    (error,) = load_bytes(b'{"name": "caf\xe9"}', "f.json").errors
    assert (error.line, error.column) == (1, 14)
    assert "not valid UTF-8" in error.message


def test_bom_is_accepted():
    assert load_bytes(b'\xef\xbb\xbf{"a": 1}').data == {"a": 1}
