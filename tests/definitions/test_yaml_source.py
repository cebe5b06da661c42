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


# Scalars ruamel.yaml's resolver calls numbers though they are not numbers of YAML 1.2's core
# schema; Python cannot read most of them (`int("-")`). Each of these once stopped loading.
NOT_NUMBERS = ["-_", "._", "0x_", "+_", "-._", "+._", "0o_", "0b_", "0x", "1_000", "1_e5", "_1",
               "-_1", "0b101", "-0x1F", "+0o17", "1__", "0_", "1:30", "1:30.5", "-.nan", "1e", "e5"]


def test_scalars_that_only_look_like_numbers_are_text():
    for text in NOT_NUMBERS:
        doc, problems = load(f"id: x\nname: {text}\n")
        assert problems == [], text
        assert doc.data["name"] == text, text


def test_numbers_of_the_core_schema_are_numbers():
    import math

    doc, problems = load(
        "a: 12\nb: -3\nc: +4\nd: 017\ne: 0o17\nf: 0x1F\ng: 1.5\nh: -.5e3\ni: 1.\nj: 1e5\n"
        "k: .inf\nl: -.Inf\nm: +.INF\nn: .NaN\no: 0\n"
    )
    assert problems == []
    data = doc.data
    assert [data[k] for k in "abcdef"] == [12, -3, 4, 17, 15, 31]
    assert all(isinstance(data[k], int) for k in "abcdefo")
    assert [data[k] for k in "ghij"] == [1.5, -500.0, 1.0, 100000.0]
    assert (data["k"], data["l"], data["m"]) == (math.inf, -math.inf, math.inf)
    assert math.isnan(data["n"])


def test_a_yaml_1_1_directive_does_not_bring_back_1_1_values():
    doc, problems = load("%YAML 1.1\n---\nid: x\nopens: 9:30\nflag: on\nlong: 1:30.5\nbits: 0b_\n")
    assert problems == []
    assert doc.data == {"id": "x", "opens": "9:30", "flag": "on", "long": "1:30.5", "bits": "0b_"}


def test_whole_numbers_too_long_for_python_to_print_are_text():
    # Past Python's 4,300-digit limit, int() refuses the text and str() the number.
    decimal, hexadecimal = "1" * 5000, "0x" + "f" * 5000
    doc, problems = load(f"id: x\na: {decimal}\nb: {hexadecimal}\n")
    assert problems == [] and doc.data["a"] == decimal and doc.data["b"] == hexadecimal


def test_an_explicit_tag_the_value_does_not_fit_is_a_problem_at_its_place():
    doc, problems = load(
        "id: x\na: !!int -_\nb: !!float ._\nc: !!bool yes\nd: !!null x\ne: !!int '12'\n"
        "f: !!map x\ng: !!str [1]\nh: &h !!int 0x_\ni: [*h, *h]\n"
    )
    assert [(p.line, p.column, p.code) for p in problems] == [
        (2, 4, "E103"), (3, 4, "E103"), (4, 4, "E103"), (5, 4, "E103"),
        (7, 4, "E103"), (8, 4, "E103"), (9, 4, "E103"),
    ]
    assert "`-_` is not a YAML 1.2 `!!int` value" in problems[0].message
    assert doc.data["e"] == 12 and doc.data["i"] == ["0x_", "0x_"]
