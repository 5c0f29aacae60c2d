"""Rendered manifests read back as exactly the data that was rendered, by YAML 1.1 and 1.2 readers.

Flux (Go, YAML 1.2-ish), kubectl and PyYAML-based tools (YAML 1.1) all read what fluxgate writes,
so a string such as "yes", "1.0" or "2001-12-14" must stay a string for every one of them.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from fluxgate.render.emit import dump, dump_all

# Strings a YAML reader could take for something else: booleans/null of YAML 1.1, numbers,
# dates, sexagesimals, indicators, comments, document markers, significant whitespace.
TRICKY_STRINGS = [
    "yes", "no", "on", "off", "y", "n", "Y", "N", "Yes", "ON", "True", "FALSE", "true",
    "null", "Null", "NULL", "~", "",
    "1.0", "1", "-1", "+1", "0x1F", "0o17", "017", "0b101", "1_000", "1e3", "1e20", ".5",
    ".inf", "-.inf", ".nan", "2001-12-14", "2001-12-14t21:59:43.10-05:00", "12:30:45", "190:20:30",
    "- x", "-", ": x", "#x", "x #y", "x: y", "key:", "&anchor", "*alias", "!tag", "%YAML", "@x",
    "`x", "|", "> x", "[a]", "{a}", "? x", "?", "---", "...", "<<", "=", ",",
    " lead", "trail ", " both ", "\ttab", "tab\t",
    "'single'", '"double"', 'back\\slash', "a\nb", "a\n", "a\n\n", "\n", " x\ny", "a\n  b",
    "a\r\nb", "a\rb", "\x00", "\x1b[0m", "\x85", "\u2028", "\u2029", "\ufeff", "\u00a0",
    "été", "日本語", "😀", "500m", "256Mi", "http://example.com:8080/x", "ghcr.io/acme/web:1.4.2",
]  # fmt: skip

# Any code point except surrogates, which cannot be encoded as UTF-8 at all.
characters = st.characters(exclude_categories=("Cs",))
text = st.one_of(
    st.sampled_from(TRICKY_STRINGS),
    st.text(characters, max_size=20),
    # Multi-line text, which the emitter writes as literal blocks when it can.
    st.lists(
        st.one_of(st.sampled_from(TRICKY_STRINGS), st.text(characters, max_size=8)), min_size=2, max_size=5
    ).map("\n".join),
)
leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.sampled_from([1e20, -0.0, 1e-7, 1e16, 5e-324, 1.7976931348623157e308]),
    text,
)
json_shaped = st.recursive(
    leaf,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(text, children, max_size=4)),
    max_leaves=25,
)

_ruamel = YAML(typ="safe", pure=True)


def read_yaml_1_1(stream: str) -> Any:
    return yaml.safe_load(stream)


def read_yaml_1_2(stream: str) -> Any:
    return _ruamel.load(stream)


@settings(max_examples=400, deadline=None)
@given(json_shaped)
def test_any_json_shaped_data_reads_back_unchanged_in_yaml_1_1_and_1_2(data: Any) -> None:
    emitted = dump(data)

    assert emitted.endswith("\n")
    assert read_yaml_1_1(emitted) == data
    assert read_yaml_1_2(emitted) == data


@pytest.mark.parametrize("word", TRICKY_STRINGS)
def test_strings_that_look_like_other_types_stay_strings(word: str) -> None:
    emitted = dump({"value": word})

    assert read_yaml_1_1(emitted) == {"value": word}
    assert read_yaml_1_2(emitted) == {"value": word}


@pytest.mark.parametrize("number", [1e20, -1e20, 1e-7, 0.5, 3.0, -0.0, float("inf"), float("-inf")])
def test_floats_stay_floats_with_their_sign(number: float) -> None:
    for read in (read_yaml_1_1, read_yaml_1_2):
        back = read(dump({"x": number}))["x"]

        assert isinstance(back, float)
        assert back == number
        assert math.copysign(1.0, back) == math.copysign(1.0, number)


def test_keys_are_sorted_at_every_level() -> None:
    emitted = dump({"b": 1, "a": {"d": 1, "c": 2}, "C": None})

    assert emitted == "C: null\na:\n  c: 2\n  d: 1\nb: 1\n"


def test_lists_are_indented_kubectl_style_at_their_key() -> None:
    deployment_spec = {
        "containers": [
            {"name": "web", "args": ["serve", "8080"], "ports": [{"containerPort": 8080, "name": "http"}]}
        ]
    }

    assert dump(deployment_spec) == (
        "containers:\n"
        "- args:\n"
        "  - serve\n"
        '  - "8080"\n'
        "  name: web\n"
        "  ports:\n"
        "  - containerPort: 8080\n"
        "    name: http\n"
    )


def test_list_of_lists_and_empty_collections() -> None:
    assert dump({"m": [[1, 2], [], {}], "e": {}, "l": []}) == (
        "e: {}\nl: []\nm:\n-\n  - 1\n  - 2\n- []\n- {}\n"
    )


def test_multi_line_strings_become_literal_blocks() -> None:
    emitted = dump({"script": "echo one\necho two\n", "motd": "line one\n  indented line two"})

    assert emitted == ("motd: |-\n  line one\n    indented line two\nscript: |\n  echo one\n  echo two\n")


def test_multi_line_strings_inside_lists_are_indented_under_their_item() -> None:
    emitted = dump({"items": ["a\nb"]})

    assert emitted == "items:\n- |-\n  a\n  b\n"
    assert read_yaml_1_1(emitted) == {"items": ["a\nb"]}


def test_kubernetes_quantities_stay_plain_and_versions_are_quoted() -> None:
    emitted = dump({"cpu": "500m", "memory": "256Mi", "version": "1.4.2", "enabled": "true"})

    assert emitted == 'cpu: 500m\nenabled: "true"\nmemory: 256Mi\nversion: "1.4.2"\n'


def test_same_data_gives_identical_bytes_whatever_the_insertion_order() -> None:
    first = {"metadata": {"name": "web", "labels": {"b": "2", "a": "1"}}, "kind": "Service"}
    second = {"kind": "Service", "metadata": {"labels": {"a": "1", "b": "2"}, "name": "web"}}

    assert dump(first).encode() == dump(second).encode()
    assert dump(first) == dump(first)


def test_dump_all_separates_documents() -> None:
    stream = dump_all([{"a": 1}, {"b": [1]}])

    assert stream == "a: 1\n---\nb:\n- 1\n"
    assert list(yaml.safe_load_all(stream)) == [{"a": 1}, {"b": [1]}]


def test_non_json_data_is_refused() -> None:
    with pytest.raises(TypeError, match="cannot emit set as YAML"):
        dump({"x": {1, 2}})
