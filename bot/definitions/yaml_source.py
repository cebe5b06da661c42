"""Read a YAML file into plain Python data while remembering where every key and value stood.

YAML 1.2 semantics (its core schema, checked here rather than left to ruamel.yaml's looser
resolver): `on`, `yes` and `no` stay strings and `9:30` stays text, unlike PyYAML's YAML 1.1, and
a plain value is a number only when it is a well-formed one (`-_` and `0x_` are text). We compose
the node graph ourselves instead of letting a loader build objects, so that we can report *every*
duplicate key (a loader stops at the first), refuse unknown tags, and count alias expansions to
stop alias bombs before they use memory.
"""

from __future__ import annotations

import io
import math
import re
import sys
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.resolver import VersionedResolver
from ruamel.yaml.tag import Tag

from bot.definitions.problems import Problem

MAX_FILE_BYTES = 1024 * 1024
# A real workflow has a few thousand nodes at most; expansions past this are an alias bomb.
MAX_EXPANDED_NODES = 100_000

Path = tuple[str | int, ...]


@dataclass
class SourceDoc:
    """Plain data from one YAML file, with 1-based positions of every key and value."""

    path: str
    text: str
    data: Any
    value_pos: dict[Path, tuple[int, int]] = field(default_factory=dict)
    key_pos: dict[Path, tuple[int, int]] = field(default_factory=dict)

    def locate(self, path: Path, *, key: bool = False) -> tuple[int, int]:
        """The position of `path`, or of its nearest ancestor that exists in the file."""
        probe = tuple(path)
        while True:
            if key and probe in self.key_pos:
                return self.key_pos[probe]
            if probe in self.value_pos:
                return self.value_pos[probe]
            if probe in self.key_pos:
                return self.key_pos[probe]
            if not probe:
                return (1, 1)
            probe = probe[:-1]

    def problem(self, path: Path, code: str, message: str, *, key: bool = False) -> Problem:
        line, col = self.locate(path, key=key)
        return Problem(self.path, line, col, code, message)


_CORE_PREFIX = "tag:yaml.org,2002:"
_KNOWN_TAGS = {
    f"{_CORE_PREFIX}{name}"
    for name in ("str", "int", "float", "bool", "null", "seq", "map", "timestamp", "merge")
}


class _AliasBomb(Exception):
    def __init__(self, position: tuple[int, int], recursive: bool):
        super().__init__()
        self.position = position
        self.recursive = recursive


def _position(node: Node) -> tuple[int, int]:
    mark = node.start_mark
    return (mark.line + 1, mark.column + 1)


# The YAML 1.2 core schema (spec 1.2.2, section 10.3.2), exactly. ruamel.yaml's own 1.2 resolver
# is looser: it calls `-_`, `._`, `0x_` and `1_000` numbers, and a `%YAML 1.1` line brings back
# 1.1's `on`/`off` booleans and `9:30` sexagesimals. Here a plain scalar is a number only when it
# is one by these patterns and Python can read it; anything else is text.
_NULL = re.compile(r"~|null|Null|NULL|")
_BOOL = re.compile(r"true|True|TRUE|false|False|FALSE")
_INT = re.compile(r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+")
_FLOAT = re.compile(
    r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)"
    r"|\.(?:nan|NaN|NAN)"
)
_LOG10_2 = math.log10(2)


def _too_long(digits: int) -> bool:
    """Python refuses to print (and to parse) whole numbers with more digits than its limit."""
    limit = sys.get_int_max_str_digits()
    return bool(limit) and digits > limit


def _read_int(text: str) -> int | None:
    """The core schema's integer `text` means, or None when it is not one Python can handle."""
    if not _INT.fullmatch(text):
        return None
    if text.startswith(("0o", "0x")):
        number = int(text[2:], 8 if text[1] == "o" else 16)
        # Hex and octal parse at any length, but the result must still be printable.
        if _too_long(int(number.bit_length() * _LOG10_2) + 1):
            return None
        return number
    if _too_long(len(text.lstrip("+-"))):
        return None
    return int(text, 10)


def _read_float(text: str) -> float | None:
    """The core schema's float `text` means, or None when it is not one."""
    if not _FLOAT.fullmatch(text):
        return None
    lowered = text.lower()
    if lowered.endswith(".inf"):
        return -math.inf if lowered.startswith("-") else math.inf
    if lowered == ".nan":
        return math.nan
    return float(text)


def _core_tag(text: str) -> str:
    """The core schema's tag for an untagged plain scalar."""
    if _NULL.fullmatch(text):
        return "null"
    if _BOOL.fullmatch(text):
        return "bool"
    if _INT.fullmatch(text):
        # Too long to be a number Python can print: text, not a float approximation of it.
        return "int" if _read_int(text) is not None else "str"
    if _FLOAT.fullmatch(text):
        return "float"
    return "str"


class _CoreSchemaResolver(VersionedResolver):
    """ruamel.yaml's resolver with plain scalars resolved by the YAML 1.2 core schema only.

    The `%YAML` version still steers the parser's syntax; it no longer changes what a plain
    value means. Explicit tags (`!!int 12`) and quoted scalars are left to the base class.
    """

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is ScalarNode and implicit[0]:
            return Tag(suffix=_CORE_PREFIX + _core_tag(value))
        return super().resolve(kind, value, implicit)


class _BadScalar(Exception):
    """A scalar whose explicit tag its text does not fit (`!!int x`)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _shown(text: str) -> str:
    return text if len(text) <= 40 else text[:37] + "..."


def _scalar(node: ScalarNode) -> Any:
    """Convert a scalar by its tag: the core schema's for a plain value, or the one written.

    Never raises anything but `_BadScalar`, and that only for an explicit tag the text does
    not fit: an untagged plain scalar was resolved by `_core_tag`, which names a number only
    when `_read_int` / `_read_float` can read it.
    """
    tag = str(node.tag)
    value = node.value
    name = tag[len(_CORE_PREFIX):] if tag.startswith(_CORE_PREFIX) else None
    if name is None or name in ("str", "timestamp", "merge"):
        # Dates and times stay text: the language parses them with its own rules. Unknown
        # tags were reported already (E010); their text is kept as it is.
        return value
    result: Any
    if name == "null" and _NULL.fullmatch(value):
        return None
    if name == "bool" and _BOOL.fullmatch(value):
        return value.lower() == "true"
    if name == "int" and (result := _read_int(value)) is not None:
        return result
    if name == "float" and (result := _read_float(value)) is not None:
        return result
    if name in ("seq", "map"):
        raise _BadScalar(
            f"`!!{name}` cannot tag a plain value such as `{_shown(value)}`: remove the tag"
        )
    if name in ("null", "bool", "int", "float"):
        raise _BadScalar(
            f"`{_shown(value)}` is not a YAML 1.2 `!!{name}` value: remove the tag or fix the value"
        )
    return value


class _Builder:
    """Turns a composed node graph into plain data, collecting positions and problems."""

    def __init__(self, doc: SourceDoc):
        self.doc = doc
        self.problems: list[Problem] = []
        self.expanded = 0
        self.stack: set[int] = set()
        self.mistagged: set[int] = set()

    def build(self, node: Node, path: Path) -> Any:
        self.expanded += 1
        if id(node) in self.stack or self.expanded > MAX_EXPANDED_NODES:
            # Name the top-level entry whose value blew up: that is where the aliases are used.
            where = self.doc.value_pos.get(path[:1], _position(node))
            raise _AliasBomb(where, recursive=id(node) in self.stack)
        self.doc.value_pos.setdefault(path, _position(node))
        tag = str(node.tag)
        if tag not in _KNOWN_TAGS:
            line, col = _position(node)
            shown = "!!" + tag[len(_CORE_PREFIX):] if tag.startswith(_CORE_PREFIX) else tag
            self.problems.append(
                Problem(self.doc.path, line, col, "E010", f"unknown YAML tag `{shown}`: remove it")
            )
        if isinstance(node, ScalarNode):
            try:
                return _scalar(node)
            except _BadScalar as bad:
                self._mistagged(node, bad.message)
                return node.value
        expected = f"{_CORE_PREFIX}{'seq' if isinstance(node, SequenceNode) else 'map'}"
        if tag in _KNOWN_TAGS and tag != expected:
            kind = "list" if isinstance(node, SequenceNode) else "mapping"
            name = tag[len(_CORE_PREFIX) :]
            self._mistagged(node, f"`!!{name}` cannot tag a {kind}: remove the tag")
        self.stack.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                return [self.build(item, path + (i,)) for i, item in enumerate(node.value)]
            if isinstance(node, MappingNode):
                return self._mapping(node, path)
        finally:
            self.stack.discard(id(node))
        return None

    def _mistagged(self, node: Node, message: str) -> None:
        # Once per node, however many aliases repeat it.
        if id(node) not in self.mistagged:
            self.mistagged.add(id(node))
            line, col = _position(node)
            self.problems.append(Problem(self.doc.path, line, col, "E103", message))

    def _mapping(self, node: MappingNode, path: Path) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            line, col = _position(key_node)
            if not isinstance(key_node, ScalarNode):
                self.problems.append(
                    Problem(self.doc.path, line, col, "E103", "a key must be plain text")
                )
                continue
            key = key_node.value
            if key in result:
                first_line, _ = self.doc.key_pos[path + (key,)]
                self.problems.append(
                    Problem(
                        self.doc.path,
                        line,
                        col,
                        "E006",
                        f"duplicate key `{key}` (first given on line {first_line})",
                    )
                )
                continue
            self.doc.key_pos[path + (key,)] = (line, col)
            result[key] = self.build(value_node, path + (key,))
        return result


def _tab_problems(path: str, text: str) -> list[Problem]:
    problems = []
    for number, line in enumerate(text.splitlines(), start=1):
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        if "\t" in indent:
            problems.append(
                Problem(
                    path,
                    number,
                    indent.index("\t") + 1,
                    "E005",
                    "tab used for indentation: YAML allows spaces only",
                )
            )
    return problems


def _decode(path: str, raw: bytes) -> tuple[str | None, list[Problem]]:
    if len(raw) > MAX_FILE_BYTES:
        return None, [
            Problem(path, 1, 1, "E002", f"file is {len(raw)} bytes; the limit is 1 MiB")
        ]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        line_start = before[before.rfind(b"\n") + 1 :]
        column = len(line_start.decode("utf-8", errors="replace")) + 1
        return None, [
            Problem(
                path,
                line,
                column,
                "E001",
                f"byte 0x{raw[exc.start]:02x} is not UTF-8: save the file as UTF-8",
            )
        ]
    return text, []


def load_source(path: str, raw: bytes) -> tuple[SourceDoc | None, list[Problem]]:
    """Parse one file. Returns the document (None when it cannot be read) and its problems."""
    text, problems = _decode(path, raw)
    if text is None:
        return None, problems
    if not text.strip():
        return None, [Problem(path, 1, 1, "E003", "file is empty: a workflow needs at least `id` and `steps`")]

    yaml = YAML(typ="rt")
    yaml.Resolver = _CoreSchemaResolver
    try:
        root = yaml.compose(io.StringIO(text))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        tabs = _tab_problems(path, text)
        if any(p.line == line for p in tabs):
            # The file is indented with tabs: name every such line. (A tab inside a block of
            # text is legal YAML, so tabs elsewhere alone are not reported.)
            return None, tabs
        detail = " ".join(part for part in (exc.context, exc.problem) if part)
        return None, [Problem(path, line, col, "E004", f"YAML syntax error: {detail}")]
    except YAMLError as exc:  # errors without a position, e.g. a second document marker
        return None, [Problem(path, 1, 1, "E004", f"YAML syntax error: {exc}")]

    if root is None or (isinstance(root, ScalarNode) and str(root.tag).endswith(":null") and not root.value.strip()):
        return None, [Problem(path, 1, 1, "E003", "file holds only comments: a workflow needs at least `id` and `steps`")]

    doc = SourceDoc(path=path, text=text, data=None)
    builder = _Builder(doc)
    try:
        doc.data = builder.build(root, ())
    except _AliasBomb as bomb:
        line, col = bomb.position
        message = (
            "an alias refers to the value that contains it, so it never ends"
            if bomb.recursive
            else f"anchors and aliases expand to more than {MAX_EXPANDED_NODES:,} values (an alias bomb)"
        )
        return None, [Problem(path, line, col, "E007", message)]
    if not isinstance(doc.data, dict):
        line, col = _position(root)
        return None, builder.problems + [
            Problem(path, line, col, "E008", "the file must be a mapping with keys such as `id`, `name` and `steps`")
        ]
    return doc, builder.problems
