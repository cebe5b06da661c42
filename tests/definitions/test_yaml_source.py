"""YAML 1.2 reading with positions: the traps of YAML 1.1 do not apply, and every problem
of the file itself is reported with its place."""

from __future__ import annotations

from bot.definitions.yaml_source import load_source


def load(text: str):
    return load_source("w.yaml", text.encode())


def test_yaml_1_2_keeps_words_and_clock_times_as_text():
    doc, problems = load("on: yes\nno: off\nopens: 9:30\nport: 0o17\nflag: true\nnothing: ~\n")
    assert problems == []
    assert doc.data == {"on": "yes", "no": "off", "opens": "9:30", "port": 15, "flag": True, "nothing": None}


def test_positions_of_keys_and_values_are_one_based():
    doc, _ = load("id: x\nsteps:\n  - id: a\n    ask: starter\n")
    assert doc.key_pos[("steps", 0, "ask")] == (4, 5)
    assert doc.value_pos[("steps", 0, "ask")] == (4, 10)
    assert doc.value_pos[("steps", 0)] == (3, 5)
    # A path that is not in the file is placed at its nearest existing ancestor.
    assert doc.locate(("steps", 0, "outputs", "x")) == (3, 5)


def test_every_duplicate_key_is_reported_not_just_the_first():
    _, problems = load("id: x\nid: y\nsteps:\n  - id: a\n    ask: s\n    ask: t\n")
    assert [(p.line, p.column, p.code) for p in problems] == [(2, 1, "E006"), (6, 5, "E006")]
    assert "first given on line 1" in problems[0].message


def test_alias_bomb_is_refused_without_expanding_it():
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for n in range(1, 9):
        prev = f"*a{n - 1}"
        lines.append(f"a{n}: &a{n} [{', '.join([prev] * 9)}]")
    doc, problems = load("\n".join(lines) + "\n")
    assert doc is None and [p.code for p in problems] == ["E007"]


def test_small_aliases_are_fine():
    doc, problems = load("base: &b {type: string}\ninputs:\n  a: *b\n  c: *b\n")
    assert problems == [] and doc.data["inputs"] == {"a": {"type": "string"}, "c": {"type": "string"}}


def test_tabs_in_indentation_are_named_per_line():
    _, problems = load("id: x\nsteps:\n\t- id: a\n\t  ask: s\n")
    assert [(p.line, p.column, p.code) for p in problems] == [(3, 1, "E005"), (4, 1, "E005")]


def test_syntax_error_has_the_position_of_the_problem():
    _, problems = load("id: x\nsteps: [a, b\nname: y\n")
    assert len(problems) == 1 and problems[0].code == "E004" and problems[0].line >= 2


def test_not_utf8_names_the_byte_and_its_place():
    _, problems = load_source("w.yaml", b"id: x\nname: caf\xe9\n")
    assert [(p.line, p.column, p.code) for p in problems] == [(2, 10, "E001")]
    assert "0xe9" in problems[0].message


def test_empty_and_comment_only_files():
    assert [p.code for p in load("")[1]] == ["E003"]
    assert [p.code for p in load("# just a comment\n\n")[1]] == ["E003"]


def test_too_large_file_is_refused_before_parsing():
    _, problems = load_source("w.yaml", b"#" * (1024 * 1024 + 1))
    assert [p.code for p in problems] == ["E002"]


def test_a_list_at_the_top_is_not_a_workflow():
    _, problems = load("- id: x\n")
    assert [p.code for p in problems] == ["E008"]


def test_custom_tags_are_refused():
    _, problems = load("id: !!python/object:os.system x\nname: !secret y\n")
    assert {p.code for p in problems} == {"E010"}
    assert len(problems) == 2
