"""Signed, mangled deliveries for the connector's fuzz test: bases, mutations, expectations, sending.

Each case is rebuilt from `(SEED, endpoint, index)` alone (`case_builder`), so a failure the test
reports (`flux#1234`) can be made again by hand. See `test_connector_survives_fuzzed_bodies.py`.
"""

from __future__ import annotations

import asyncio
import io
import json
import random
import re
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import aiohttp
import pytest

from fluxgate.connector.github_events import HANDLED_EVENTS, parse_github_event
from fluxgate.connector.settings import ConnectorSettings
from fluxgate.connector.signatures import flux_signature, github_signature
from tests.connector.conftest import FLUX_KEY, WEBHOOK_SECRET, kustomization_event

SEED: Final = 20261203
CASES_PER_ENDPOINT: Final = 10_000
CONCURRENCY: Final = 12  # requests in flight, each on its own keep-alive connection
REQUEST_TIMEOUT: Final = 30.0  # a request that hangs this long counts as a transport error
SETTLE_TIMEOUT: Final = 20.0  # accepted deliveries left pending after this are stuck
MAX_BODY: Final[int] = ConnectorSettings.model_fields["max_body_bytes"].default  # the fixture keeps it
PATHS: Final = {"flux": "/flux/events", "github": "/github/webhook"}
JSON_TYPES: Final = ("application/json", "application/vnd.github+json")  # what the app reads as JSON
EXAMPLES: Final = (Path(__file__).resolve().parents[2] / ".cache" / "npm" / "node_modules" / "@octokit"
                   / "webhooks-examples" / "api.github.com" / "index.json")  # fmt: skip
DEV_CONTEXT: Final = "fluxgate/dev/dev-eu"  # checked on a commit made after the fuzz

Json = Any  # a parsed JSON value: dict, list, str, int, float, bool or None
Step = str | int
Where = tuple[Step, ...]


# --- the cases ---------------------------------------------------------------------------------------


@dataclass
class Draft:
    """A request being mangled: the tree until it is serialised, then the bytes, and the headers."""

    endpoint: str
    base: str
    tree: Json
    event: str | None = None  # X-GitHub-Event; None leaves the header out
    delivery: str | None = None  # X-GitHub-Delivery (sent as UTF-8); None leaves the header out
    content_type: str | None = "application/json"
    algorithm: str = "sha256"  # the Flux signature's hash
    ensure_ascii: bool = True  # False: non-ASCII text as raw UTF-8 bytes, not as JSON escapes
    chunked: bool = False
    raw: dict[str, bytes] = field(default_factory=dict)  # placeholder string -> JSON text spliced in
    body: bytes = b""


@dataclass(frozen=True)
class Case:
    """One request, and how it was made (its label is what a failure message shows)."""

    endpoint: str
    index: int
    base: str
    mutations: tuple[str, ...]
    pristine: bool  # only neutral mutations: a valid delivery the connector must accept
    body: bytes
    headers: dict[str, str]
    chunked: bool

    @property
    def label(self) -> str:
        done = ", ".join(self.mutations) or "no mutation"
        return f"{self.endpoint}#{self.index} (seed {SEED}; base {self.base}; {done})"


Mutator = Callable[[Draft, random.Random], str]  # changes the draft; returns what it did, for the label


@dataclass(frozen=True)
class Mutation:
    """One way to mangle a request, and how often a case draws it (`weight`, relative)."""

    name: str
    mutate: Mutator
    weight: float
    stage: int  # 0: on the tree or headers, before serialisation; 1: on the serialised bytes
    endpoints: frozenset[str] = frozenset(PATHS)
    neutral: bool = False  # the request stays a valid delivery


# --- picking a place in the tree -----------------------------------------------------------------


def _children(node: Json) -> list[Step]:
    if isinstance(node, dict):
        return list(node)
    if isinstance(node, list):
        return list(range(len(node)))
    return []


def _pick(tree: Json, rng: random.Random, want: Callable[[Json], bool] = lambda _: True) -> Where:
    """A random node below the root, shallow ones likelier: the fields parsers read sit near the top
    of a delivery, while a uniform pick in a 500-node GitHub payload would almost always land in
    `repository.owner`. Falls back to the root when nothing below it matches `want`."""
    where: Where = ()
    node = tree
    chosen: Where = ()
    while steps := _children(node):
        step = rng.choice(steps)
        where, node = (*where, step), node[step]
        if want(node):
            chosen = where
            if rng.random() < 0.45:
                break
    return chosen


def _get(tree: Json, where: Where) -> Json:
    for step in where:
        tree = tree[step]
    return tree


def _put(draft: Draft, where: Where, value: Json) -> None:
    if not where:
        draft.tree = value
        return
    _get(draft.tree, where[:-1])[where[-1]] = value


def _path_text(where: Where) -> str:
    text = "".join(f"[{step}]" if isinstance(step, int) else f".{step}" for step in where).lstrip(".")
    return (text if len(text) <= 60 else text[:59] + "…") or "the root"


def _kind(value: Json) -> str:
    """The JSON type of a value (bool before number: in Python a bool is an int)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "list" if isinstance(value, list) else "object"


# --- values ------------------------------------------------------------------------------------------

_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_ ./:@"
_UNICODE = ("é", "日本", "🚀", "\u200b", "\u2028", "Ω", "ß", "\U0001f600")  # valid text, some of it odd


def _text(rng: random.Random, longest: int = 16) -> str:
    """A short random string: letters, with now and then valid non-ASCII text (never a backslash, so
    a NUL or a surrogate in a body only ever comes from the mutations meant to put one there)."""
    chars = [rng.choice(_LETTERS) for _ in range(rng.randint(0, longest))]
    if rng.random() < 0.2:
        chars.insert(rng.randint(0, len(chars)), rng.choice(_UNICODE))
    return "".join(chars)


def _value_of(kind: str, rng: random.Random) -> Json:
    """A small value of the given JSON type."""
    if kind == "string":
        return _text(rng)
    if kind == "number":
        return rng.choice([0, -1, 7, 1.5, -0.0, 2**63, 10**30, 1e300])
    if kind == "list":
        return [_value_of(rng.choice(["string", "number", "null"]), rng) for _ in range(rng.randint(0, 3))]
    if kind == "object":
        return {_text(rng, 8): _value_of("string", rng) for _ in range(rng.randint(0, 2))}
    if kind == "bool":
        return rng.random() < 0.5
    return None


def _raw(draft: Draft, where: Where, text: bytes) -> None:
    """Put JSON text the serialiser cannot produce (1,000-deep nesting, a 5,000-digit number) at
    `where`: a placeholder string now, swapped for the text when the tree is serialised."""
    token = f"@@raw-{len(draft.raw)}@@"
    draft.raw[json.dumps(token)] = text
    _put(draft, where, token)


# --- mutations of the tree ---------------------------------------------------------------------------


def swap_type(draft: Draft, rng: random.Random) -> str:
    """A field of another JSON type: the parsers are strict, and a wrong type must be a 400 naming the
    field, not an AttributeError three calls later."""
    where = _pick(draft.tree, rng)
    old = _kind(_get(draft.tree, where))
    new = rng.choice([k for k in ("string", "number", "list", "object", "null", "bool") if k != old])
    _put(draft, where, _value_of(new, rng))
    return f"swap_type {_path_text(where)} {old}->{new}"


def drop_key(draft: Draft, rng: random.Random) -> str:
    """A key missing: required fields must be named as missing, optional ones must stay optional."""
    where = _pick(draft.tree, rng, lambda node: isinstance(node, dict) and bool(node))
    node = _get(draft.tree, where)
    if not isinstance(node, dict) or not node:
        return "drop_key (no object left)"
    key = rng.choice(list(node))
    del node[key]
    return f"drop_key {_path_text((*where, key))}"


_EXTRA_KEYS = ("fuzz", "", " ", "__proto__", "constructor", "null", "ключ", "a.b", "$ref", "0")


def add_key(draft: Draft, rng: random.Random) -> str:
    """An extra key, with an odd name: senders add fields over time, and they must not break intake."""
    where = _pick(draft.tree, rng, lambda node: isinstance(node, dict))
    node = _get(draft.tree, where)
    if not isinstance(node, dict):
        return "add_key (no object left)"
    key = rng.choice([k for k in _EXTRA_KEYS if k not in node] or ["fuzz-extra"])
    node[key] = _value_of(rng.choice(["string", "number", "list", "object", "null", "bool"]), rng)
    return f"add_key {_path_text((*where, key))}"


def huge_string(draft: Draft, rng: random.Random) -> str:
    """A string of 1 KB to 100 KB (as sent), under the body limit: a field must be bounded where it
    is used, not trusted to be short."""
    where = _pick(draft.tree, rng)
    size = rng.choices([1_000, 10_000, 100_000], weights=[5, 3, 1])[0]
    char = rng.choice("xxxé日")  # escaped or raw, no non-ASCII character takes more than 6 bytes
    _put(draft, where, char * (size if char == "x" else size // 6))
    return f"huge_string {_path_text(where)} {size} bytes"


def over_the_limit(draft: Draft, rng: random.Random) -> str:
    """A body just over the connector's limit: a 413, read no further than the limit."""
    where = _pick(draft.tree, rng)
    _put(draft, where, "o" * (MAX_BODY + rng.randint(1, 65_536)))
    return f"over_the_limit {_path_text(where)}"


def deep_nesting(draft: Draft, rng: random.Random) -> str:
    """Lists or objects nested up to thousands deep: a recursive parser hits Python's recursion limit,
    which must end as a 400, not a RecursionError's 500 (`{"zen": [[[...]]]}`)."""
    where = _pick(draft.tree, rng)
    depth = rng.choice([100, 500, 900, 980, 1_000, 5_000])
    lists = rng.random() < 0.7
    text = b"[" * depth + b"]" * depth if lists else b'{"a":' * depth + b"null" + b"}" * depth
    _raw(draft, where, text)
    return f"deep_nesting {_path_text(where)} {depth} deep"


def odd_number(draft: Draft, rng: random.Random) -> str:
    """Numbers at the edges: 5,000 digits (Python refuses to convert them), overflow to infinity, NaN."""
    where = _pick(draft.tree, rng)
    text = rng.choice([b"1" * 5_000, b"1e999", b"-1e999", b"NaN", b"Infinity", b"-0", b"1" + b"0" * 20])
    _raw(draft, where, text)
    return f"odd_number {_path_text(where)} {text[:12].decode()}"


def _splice_into_text(draft: Draft, rng: random.Random, bad: str) -> str:
    """`bad` inside a random string value or key (a new string where none is left)."""
    where = _pick(draft.tree, rng, lambda node: isinstance(node, str | dict) and bool(node))
    node = _get(draft.tree, where)
    if isinstance(node, dict) and node:
        key = rng.choice(list(node))
        cut = rng.randint(0, len(key))
        node[key[:cut] + bad + key[cut:]] = node.pop(key)
        return f"{_path_text((*where, key))} (the key)"
    if isinstance(node, str) and not node.startswith("@@raw-"):
        cut = rng.randint(0, len(node))
        _put(draft, where, node[:cut] + bad + node[cut:])
        return _path_text(where)
    _put(draft, where, f"before{bad}after")
    return _path_text(where)


def lone_surrogate(draft: Draft, rng: random.Random) -> str:
    """A `\\ud800`-style escape with no partner: valid JSON, but no UTF-8 text; a store or a GitHub
    call that encodes it fails, so it must be refused at intake rather than poison the inbox."""
    surrogate = rng.choice(["\ud800", "\udfff", "\udbff", "\udc00"])
    return f"lone_surrogate {_splice_into_text(draft, rng, surrogate)}"


def nul_char(draft: Draft, rng: random.Random) -> str:
    """A `\\u0000` escape: valid JSON that PostgreSQL text refuses; refused at intake, on every store."""
    return f"nul_char {_splice_into_text(draft, rng, chr(0))}"


def non_object(draft: Draft, rng: random.Random) -> str:
    """A body that is JSON but not an object (list, string, number, null, bool): both senders only
    ever post objects."""
    kind = rng.choice(["list", "string", "number", "null", "bool", "list of the event"])
    draft.tree = [draft.tree] if kind == "list of the event" else _value_of(kind, rng)
    return f"non_object {kind}"


def raw_utf8(draft: Draft, rng: random.Random) -> str:
    """Non-ASCII text as raw UTF-8 bytes instead of escapes: what most senders do; stays valid."""
    draft.ensure_ascii = False
    return "raw_utf8"


# --- mutations of the bytes ----------------------------------------------------------------------

_INVALID_UTF8 = (b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xc0\xaf", b"\xf8\x88\x80\x80\x80", b"\xe2\x82")


def invalid_utf8(draft: Draft, rng: random.Random) -> str:
    """Bytes no UTF-8 decoder takes (lone continuation, an encoded surrogate, overlong, truncated),
    put inside a string of the body, where a lenient reader would carry them on."""
    at = draft.body.find(b'"', rng.randrange(len(draft.body) or 1)) + 1  # after a quote, or at 0
    bad = rng.choice(_INVALID_UTF8)
    draft.body = draft.body[:at] + bad + draft.body[at:]
    return f"invalid_utf8 {bad!r} at byte {at}"


def truncate(draft: Draft, rng: random.Random) -> str:
    """The body cut short, as a dropped connection or a proxy's limit leaves it."""
    keep = rng.randint(0, max(0, len(draft.body) - 1))
    draft.body = draft.body[:keep]
    return f"truncate to {keep} bytes"


def empty_body(draft: Draft, rng: random.Random) -> str:
    """No body at all (signed: the HMAC of nothing)."""
    draft.body = b""
    return "empty_body"


def random_bytes(draft: Draft, rng: random.Random) -> str:
    """Noise instead of a body."""
    draft.body = rng.randbytes(rng.randint(1, 2_000))
    return "random_bytes"


# --- mutations of the headers ------------------------------------------------------------------------

_NOT_JSON_TYPES = ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                   "application/jsonx", "application/xml", "json", "")  # fmt: skip
_JSON_TYPE_SPELLINGS = ("application/json; charset=utf-8", "Application/JSON", "application/vnd.github+json",
                        "application/json ;charset=UTF-8")  # fmt: skip


def wrong_content_type(draft: Draft, rng: random.Random) -> str:
    """A Content-Type that is not JSON, or none: a 415, whatever the body."""
    draft.content_type = rng.choice([*_NOT_JSON_TYPES, None])
    return f"wrong_content_type {draft.content_type!r}"


def json_content_type(draft: Draft, rng: random.Random) -> str:
    """Other spellings of a JSON content type: must be read as JSON."""
    draft.content_type = rng.choice(_JSON_TYPE_SPELLINGS)
    return f"json_content_type {draft.content_type!r}"


def chunked(draft: Draft, rng: random.Random) -> str:
    """The body streamed in chunks with no Content-Length: the limit is enforced while reading."""
    draft.chunked = True
    return "chunked"


def flux_algorithm(draft: Draft, rng: random.Random) -> str:
    """Another hash Flux's generic-hmac verifier allows: still correctly signed."""
    draft.algorithm = rng.choice(["sha224", "sha384", "sha512"])
    return f"flux_algorithm {draft.algorithm}"


def long_delivery_id(draft: Draft, rng: random.Random) -> str:
    """A 10 KB X-GitHub-Delivery: the dedupe key is stored in a bounded column."""
    draft.delivery = f"{rng.randrange(10**9)}-" + "d" * 10_000
    return "long_delivery_id 10 KB"


def odd_delivery_id(draft: Draft, rng: random.Random) -> str:
    """An X-GitHub-Delivery with bytes outside ASCII (legal in HTTP), spaces or SQL: the id is data."""
    draft.delivery = rng.choice(["déjà-vu", "ÿþ-id", "a b c", "'; DROP TABLE deliveries; --"])
    return f"odd_delivery_id {draft.delivery!r}"


def duplicate_delivery_id(draft: Draft, rng: random.Random) -> str:
    """A delivery id seen before (GitHub redelivers): a duplicate, answered 202 once stored."""
    draft.delivery = f"fuzz-{SEED}-repeated-{rng.randrange(8)}"
    return f"duplicate_delivery_id {draft.delivery}"


def missing_github_header(draft: Draft, rng: random.Random) -> str:
    """X-GitHub-Event or X-GitHub-Delivery left out: a 400 naming the header."""
    if rng.random() < 0.5:
        draft.event = None
        return "missing_github_header X-GitHub-Event"
    draft.delivery = None
    return "missing_github_header X-GitHub-Delivery"


def other_event(draft: Draft, rng: random.Random) -> str:
    """An event name that does not match the body: another handled event (the body must then be
    checked against that event's shape), an unhandled one, or a handled one oddly spelt."""
    names = [*sorted(HANDLED_EVENTS), "star", "issues", "PULL_REQUEST", "pull-request", "Ping", "x" * 300]
    draft.event = rng.choice(names)
    return f"other_event {draft.event[:20]!r}"


_GITHUB_ONLY = frozenset({"github"})
_FLUX_ONLY = frozenset({"flux"})
MUTATIONS: Final = (
    Mutation("swap_type", swap_type, 20, 0),
    Mutation("drop_key", drop_key, 12, 0),
    Mutation("add_key", add_key, 8, 0),
    Mutation("huge_string", huge_string, 5, 0),
    Mutation("over_the_limit", over_the_limit, 0.12, 0),
    Mutation("deep_nesting", deep_nesting, 5, 0),
    Mutation("odd_number", odd_number, 3, 0),
    Mutation("lone_surrogate", lone_surrogate, 8, 0),
    Mutation("nul_char", nul_char, 8, 0),
    Mutation("non_object", non_object, 3, 0),
    Mutation("raw_utf8", raw_utf8, 3, 0, neutral=True),
    Mutation("invalid_utf8", invalid_utf8, 5, 1),
    Mutation("truncate", truncate, 5, 1),
    Mutation("empty_body", empty_body, 1.5, 1),
    Mutation("random_bytes", random_bytes, 1.5, 1),
    Mutation("wrong_content_type", wrong_content_type, 4, 0),
    Mutation("json_content_type", json_content_type, 3, 0, neutral=True),
    Mutation("chunked", chunked, 3, 0, neutral=True),
    Mutation("flux_algorithm", flux_algorithm, 3, 0, _FLUX_ONLY, neutral=True),
    Mutation("long_delivery_id", long_delivery_id, 3, 0, _GITHUB_ONLY),
    Mutation("odd_delivery_id", odd_delivery_id, 1, 0, _GITHUB_ONLY),
    Mutation("duplicate_delivery_id", duplicate_delivery_id, 5, 0, _GITHUB_ONLY),
    Mutation("missing_github_header", missing_github_header, 3, 0, _GITHUB_ONLY),
    Mutation("other_event", other_event, 5, 0, _GITHUB_ONLY),
)


# --- the bases ---------------------------------------------------------------------------------------


def flux_bases(sha: str) -> list[tuple[str, dict[str, Any]]]:
    """Valid Flux events that take the connector's different paths: a rollout step that posts a status
    and a Deployment (staging), a failure (prod, controller-prefixed metadata), and two it ignores (a
    source with no labels; a HelmRelease fluxgate.yaml does not list). None is about dev, whose
    status the test looks for afterwards."""
    progressing = kustomization_event(
        sha, "Progressing", "Deployment/shop-staging/shop-web configured\nService/shop-staging/web created",
        env="staging", cluster="staging-eu",
    )  # fmt: skip
    failed = kustomization_event(
        sha, "HealthCheckFailed", "Deployment/shop-prod/shop-web: timeout", env="prod", cluster="prod-eu",
        severity="error", prefixed=True,
    )  # fmt: skip
    source = kustomization_event(sha, "NewArtifact", "stored artifact for commit 'x'")
    source["involvedObject"].update(kind="GitRepository", apiVersion="source.toolkit.fluxcd.io/v1")
    source["metadata"] = {"revision": f"main@sha1:{sha}"}
    helm = kustomization_event(sha, "UpgradeSucceeded", "Helm upgrade succeeded", name="not-listed")
    helm["involvedObject"].update(kind="HelmRelease", apiVersion="helm.toolkit.fluxcd.io/v2")
    return [("staging-progressing", progressing), ("prod-failed", failed), ("source", source), ("helm", helm)]


def _without_url_templates(node: Json) -> Json:
    """The payload less its `*_url` API links (`html_url` kept): two thirds of a delivery's bytes
    that no parser reads, and bytes are what 10,000 requests in the time budget cannot afford."""
    if isinstance(node, dict):
        return {
            key: _without_url_templates(value)
            for key, value in node.items()
            if not key.endswith("_url") or key == "html_url"
        }
    if isinstance(node, list):
        return [_without_url_templates(value) for value in node]
    return node


def github_bases() -> list[tuple[str, dict[str, Any]]]:
    """The smallest of GitHub's own examples of each event the connector handles, less its URL
    templates; each still says exactly what the full example says (checked here)."""
    if not EXAMPLES.exists():
        pytest.fail(f"{EXAMPLES} is missing: `make unit` installs it (npm, into .cache/npm)")
    examples = {entry["name"]: entry["examples"] for entry in json.loads(EXAMPLES.read_text())}
    bases = []
    for event in sorted(HANDLED_EVENTS):
        full = min(examples[event], key=lambda payload: len(json.dumps(payload)))
        trimmed = _without_url_templates(full)
        assert parse_github_event(event, trimmed) == parse_github_event(event, full), event
        bases.append((event, trimmed))
    return bases


# --- building a case ---------------------------------------------------------------------------------


def _serialise(draft: Draft) -> bytes:
    text = json.dumps(draft.tree, ensure_ascii=draft.ensure_ascii)
    body = text.encode("utf-8", "surrogatepass")  # raw UTF-8 with a lone surrogate: invalid bytes
    for token, raw in draft.raw.items():
        body = body.replace(token.encode(), raw)
    return body


# A header value HTTP allows (RFC 9110 field-value): no control characters, no space at either end.
# Anything else a client refuses to send, or the server's HTTP parser answers before the connector
# sees it: either would blame the connector for the fuzzer's mistake.
_FIELD_VALUE = re.compile(r"(?:[!-~\x80-\uffff](?:[ \t!-~\x80-\uffff]*[!-~\x80-\uffff])?)?")


def _headers(draft: Draft) -> dict[str, str]:
    """The headers as sent, signed over the final body; every value legal HTTP (see `_FIELD_VALUE`)."""
    headers: dict[str, str] = {}
    if draft.content_type is not None:
        headers["Content-Type"] = draft.content_type
    if draft.endpoint == "flux":
        headers["Gotk-Component"] = "kustomize-controller"
        headers["X-Signature"] = flux_signature(draft.body, FLUX_KEY, draft.algorithm)
    else:
        if draft.event is not None:
            headers["X-GitHub-Event"] = draft.event
        if draft.delivery is not None:
            headers["X-GitHub-Delivery"] = draft.delivery
        headers["X-Hub-Signature-256"] = github_signature(draft.body, WEBHOOK_SECRET)
    illegal = [name for name, value in headers.items() if not _FIELD_VALUE.fullmatch(value)]
    assert not illegal, f"the fuzzer made an illegal HTTP header value for {illegal}: fix the mutation"
    return headers


def case_builder(bases: dict[str, list[tuple[str, dict[str, Any]]]]) -> Callable[[str, int], Case]:
    """`build_case(endpoint, index)`: the same request for the same (SEED, endpoint, index), in any
    order, so one failing case can be rebuilt alone."""
    texts = {
        endpoint: [(name, json.dumps(body)) for name, body in found] for endpoint, found in bases.items()
    }

    def build_case(endpoint: str, index: int) -> Case:
        rng = random.Random(f"{SEED}:{endpoint}:{index}")
        base, text = rng.choice(texts[endpoint])
        draft = Draft(endpoint, base, json.loads(text))  # a fresh copy of the base
        if endpoint == "github":
            draft.event, draft.delivery = base, f"fuzz-{SEED}-{index}"
        offered = [m for m in MUTATIONS if endpoint in m.endpoints]
        count = rng.choices([0, 1, 2, 3], weights=[4, 60, 24, 12])[0]
        chosen = sorted(
            rng.choices(offered, weights=[m.weight for m in offered], k=count), key=lambda m: m.stage
        )
        done: list[str] = []
        for mutation in chosen:
            if mutation.stage == 1 and not draft.body:
                draft.body = _serialise(draft)
            done.append(mutation.mutate(draft, rng))
        if not any(m.stage == 1 for m in chosen):
            draft.body = _serialise(draft)
        return Case(
            endpoint, index, base, tuple(done), all(m.neutral for m in chosen), draft.body, _headers(draft),
            draft.chunked,
        )  # fmt: skip

    return build_case


# --- what the answer must be ---------------------------------------------------------------------


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _unstorable(value: Json) -> bool:
    """A NUL or a lone surrogate in any string or key (iterative: the value may be deep)."""
    stack = [value]
    while stack:
        node = stack.pop()
        texts = [node] if isinstance(node, str) else list(node) if isinstance(node, dict) else []
        for text in texts:
            if "\x00" in text or (not text.isascii() and _has_surrogate(text)):
                return True
        stack.extend(node.values() if isinstance(node, dict) else node if isinstance(node, list) else [])
    return False


def body_verdict(body: bytes) -> str:
    """What a JSON reader makes of the body, whatever the connector does with it."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return "not UTF-8"
    try:
        value = json.loads(text)
    except RecursionError:  # too deep for this reader too: only the opening bracket tells
        return "too deep to judge" if text.lstrip(" \t\r\n").startswith("{") else "not an object"
    except ValueError:
        return "not JSON"
    if not isinstance(value, dict):
        return "not an object"
    return "unstorable text" if _unstorable(value) else "an object"


@dataclass(frozen=True)
class Expected:
    statuses: frozenset[int] | None  # None: any 2xx or 4xx
    why: str
    storable: bool = True  # False: must not be accepted into the inbox


def expected(case: Case) -> Expected:
    """The answer the connector's contract allows, checked in its order: 415, 413, (401: every case is
    signed), the GitHub headers, then the body."""
    content_type = case.headers.get("Content-Type", "")
    if content_type.split(";")[0].strip().lower() not in JSON_TYPES:
        return Expected(frozenset({415}), "Content-Type is not JSON")
    if len(case.body) > MAX_BODY:
        return Expected(frozenset({413}), f"body over {MAX_BODY} bytes")
    if case.endpoint == "github" and not {"X-GitHub-Event", "X-GitHub-Delivery"} <= set(case.headers):
        return Expected(frozenset({400}), "a GitHub header is missing")
    verdict = body_verdict(case.body)
    if verdict in ("not UTF-8", "not JSON", "not an object"):
        return Expected(frozenset({400}), f"the body is {verdict}")
    if verdict == "unstorable text":
        return Expected(None, "a NUL or lone surrogate no store can hold", storable=False)
    if case.pristine:
        return Expected(frozenset({202}), "a valid, signed delivery")
    return Expected(None, f"the body is {verdict}")


# --- sending -----------------------------------------------------------------------------------------


@dataclass
class Tally:
    """What came back: status codes per endpoint, fresh and duplicate acceptances, contract breaches."""

    statuses: dict[str, Counter[int]] = field(default_factory=lambda: {e: Counter() for e in PATHS})
    fresh: Counter[str] = field(default_factory=Counter)
    duplicates: Counter[str] = field(default_factory=Counter)
    transport_errors: list[str] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)
    breaches: list[str] = field(default_factory=list)
    culprits: Counter[str] = field(default_factory=Counter)  # mutation names among the failing cases
    connections: int = 0

    def blame(self, case: Case, into: list[str], problem: str) -> None:
        into.append(f"{case.label}: {problem}")
        self.culprits.update({m.split(" ")[0] for m in case.mutations} or {"no mutation"})

    def answer(self, case: Case, status: int, body: bytes) -> None:
        self.statuses[case.endpoint][status] += 1
        shown = f"answered {status} {body[:160]!r}"
        if status >= 500:
            self.blame(case, self.server_errors, shown)
            return
        try:
            answer = json.loads(body)
        except ValueError:
            answer = None
        rule = expected(case)
        accepted = status == 202 and isinstance(answer, dict) and answer.get("accepted") is True
        if not (200 <= status < 300 or 400 <= status < 500):
            self.blame(case, self.breaches, f"{shown}; expected 2xx or 4xx")
        elif not isinstance(answer, dict) or not (
            isinstance(answer.get("error"), str) and "\n" not in answer["error"]
            if status >= 400
            else isinstance(answer.get("accepted"), bool)
        ):
            self.blame(case, self.breaches, f"{shown}; expected the connector's JSON answer")
        elif rule.statuses is not None and status not in rule.statuses:
            self.blame(case, self.breaches, f"{shown}; expected {sorted(rule.statuses)}: {rule.why}")
        elif case.pristine and not accepted:
            self.blame(case, self.breaches, f"{shown}; expected it accepted: {rule.why}")
        elif accepted and not rule.storable:
            self.blame(case, self.breaches, f"{shown}; accepted into the inbox, but {rule.why}")
        if accepted:
            (self.duplicates if answer["duplicate"] else self.fresh)[case.endpoint] += 1


async def _chunks(body: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(body), 16_384):
        yield body[start : start + 16_384]


def _payload(case: Case) -> bytes | io.BytesIO | AsyncIterator[bytes]:
    """The body as aiohttp sends it: chunked, or with a Content-Length (from a stream past 1 MiB,
    where aiohttp warns about raw bytes)."""
    if case.chunked:
        return _chunks(case.body)
    return io.BytesIO(case.body) if len(case.body) > 2**20 else case.body


async def send_all(url: str, cases: Iterator[Case], tally: Tally) -> None:
    """Every case over `CONCURRENCY` keep-alive connections; a request that fails at the transport
    (reset, closed without an answer, timed out) is recorded with its case, never retried.

    aiohttp, as bench/connector.py: it spends a tenth of httpx's CPU per request (0.16 ms against
    1.5 ms here), and the sender shares two cores with the connector it measures."""

    async def opened(*_: object) -> None:
        tally.connections += 1

    trace = aiohttp.TraceConfig()
    trace.on_connection_create_end.append(opened)
    async with aiohttp.ClientSession(
        url,
        connector=aiohttp.TCPConnector(limit=CONCURRENCY),
        timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT),
        trace_configs=[trace],
        skip_auto_headers=("Content-Type",),  # a case without one must go without one
    ) as session:

        async def sender() -> None:
            for case in cases:  # one iterator shared by every sender: each case is sent once
                data = _payload(case)
                try:
                    async with session.post(
                        PATHS[case.endpoint], data=data, headers=case.headers
                    ) as response:
                        answer = await response.read()
                except (aiohttp.ClientError, TimeoutError) as error:
                    tally.blame(case, tally.transport_errors, f"{type(error).__name__}: {error}")
                    continue
                tally.answer(case, response.status, answer)

        await asyncio.gather(*(sender() for _ in range(CONCURRENCY)))


def interleaved(build_case: Callable[[str, int], Case]) -> Iterator[Case]:
    """Flux and GitHub cases alternating, so both endpoints are under load at once."""
    for index in range(CASES_PER_ENDPOINT):
        for endpoint in PATHS:
            yield build_case(endpoint, index)
