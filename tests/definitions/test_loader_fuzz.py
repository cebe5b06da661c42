"""Whatever bytes or data a workflow file holds, loading ends in problems, never a traceback."""

from __future__ import annotations

import string

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from bot.definitions.loader import load_bytes
from bot.definitions.problems import CODES

KEYS = ["id", "name", "steps", "ask", "uses", "run", "http", "routes", "goto", "if", "needs", "next",
        "outputs", "inputs", "roles", "phases", "on", "with", "type", "due", "remind", "approvers",
        "on_reject", "default", "decide", "questions", "window", "kind", "prompt", "url", "retry"]
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 10**6), st.floats(allow_nan=False),
    st.sampled_from(["starter", "a", "end", "{{ inputs.x }}", "{% if %}", "9:30", "1h", "string",
                     "* * * * *", "m:f", "${{ secrets.X }}", "U123", "#c"]),
    st.text(max_size=12),
)
documents = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.sampled_from(KEYS), children, max_size=5),
    ),
    max_leaves=30,
)


def _check(raw: bytes) -> None:
    loaded, problems = load_bytes("fuzz.yaml", raw)
    for problem in problems:
        assert problem.code in CODES
        assert problem.line >= 1 and problem.column >= 1
    if any(p.is_error for p in problems):
        assert loaded is None
    else:
        assert loaded is not None


# Failures found so far, kept so that every run tries them whatever the draw (CI runs with a
# fixed seed, which alone would never look for them again). Plain scalars that ruamel.yaml's
# resolver calls numbers but int()/float() cannot read; as a whole document or as a value.
NUMBER_LIKE = ["-_", "._", "0x_", "+_", "-._", "+._", "0o_", "0b_", "-0x_", "1_e5"]
FOUND = [
    *NUMBER_LIKE,
    *(f"name: {text}\n" for text in NUMBER_LIKE),
    "id: x\nsteps:\n  - {id: a, ask: starter, prompt: -_}\n",
    # A `%YAML 1.1` line made `9:30` an int (int("9:30") raised) and `on` a boolean.
    "%YAML 1.1\n---\nid: x\nname: 9:30\nsteps: [on]\n",
    # Explicit tags the text does not fit.
    "id: !!int x\nname: !!float ._\nsteps: !!int [a]\n",
    # A whole number Python cannot print (past 4,300 digits) where text is expected.
    "id: x\nname: 0x" + "f" * 5000 + "\nsteps: []\n",
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
@example(b"-_")
@example(b"name: 0x_\n")
def test_random_bytes(raw):
    _check(raw)


def _with_found(test):
    for text in reversed(FOUND):
        test = example(text)(test)
    return test


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=string.printable + "ä€\t", max_size=300))
@_with_found
def test_random_text(text):
    _check(text.encode())


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(KEYS), documents, max_size=6))
def test_random_workflow_shaped_documents(data):
    import io

    buffer = io.StringIO()
    YAML().dump(data, buffer)
    _check(buffer.getvalue().encode())


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, prefix + (key,))
    elif isinstance(value, list):
        for n, item in enumerate(value):
            yield from _paths(item, prefix + (n,))


def _examples():
    from pathlib import Path

    folder = Path(__file__).resolve().parents[2] / "workflows"
    return [YAML(typ="safe", pure=True).load(p.read_text()) for p in sorted(folder.glob("*.yaml"))]


EXAMPLES = _examples()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_examples(data):
    """One value of a real workflow replaced by something else: still a clean verdict."""
    import copy
    import io

    doc = copy.deepcopy(data.draw(st.sampled_from(EXAMPLES)))
    path = data.draw(st.sampled_from([p for p in _paths(doc) if p]))
    parent = doc
    for part in path[:-1]:
        parent = parent[part]
    if data.draw(st.booleans()):
        parent[path[-1]] = data.draw(documents)
    elif isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent.pop(path[-1])
    buffer = io.StringIO()
    YAML().dump(doc, buffer)
    _check(buffer.getvalue().encode())
