"""Read a YAML file into plain Python data while remembering where every key and value stood.

YAML 1.2 semantics (ruamel.yaml's resolver): `on`, `yes` and `no` stay strings and `9:30` stays
text, unlike PyYAML's YAML 1.1. We compose the node graph ourselves instead of letting a loader
build objects, so that we can report *every* duplicate key (a loader stops at the first), refuse
unknown tags, and count alias expansions to stop alias bombs before they use memory.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

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


def _scalar(node: ScalarNode) -> Any:
    """Convert a scalar by the tag YAML 1.2's core schema resolved for it."""
    tag = str(node.tag)
    value = node.value
    if tag.endswith(":str") or tag.endswith(":timestamp") or tag.endswith(":merge"):
        # Dates and times stay text: the language parses them with its own rules.
        return value
    if tag.endswith(":null"):
        return None
    if tag.endswith(":bool"):
        return value.lower() == "true"
    if tag.endswith(":int"):
        text = value.replace("_", "")
        try:
            return int(text, 0)
        except ValueError:
            return int(text, 10)
    if tag.endswith(":float"):
        lowered = value.lower().replace("_", "")
        if lowered in (".inf", "+.inf"):
            return math.inf
        if lowered == "-.inf":
            return -math.inf
        if lowered == ".nan":
            return math.nan
        return float(lowered)
    return value


class _Builder:
    """Turns a composed node graph into plain data, collecting positions and problems."""

    def __init__(self, doc: SourceDoc):
        self.doc = doc
        self.problems: list[Problem] = []
        self.expanded = 0
        self.stack: set[int] = set()

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
            return _scalar(node)
        self.stack.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                return [self.build(item, path + (i,)) for i, item in enumerate(node.value)]
            if isinstance(node, MappingNode):
                return self._mapping(node, path)
        finally:
            self.stack.discard(id(node))
        return None

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
