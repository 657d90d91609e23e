"""The directory file: lookups on the sample, and every mistake named with its line."""
from __future__ import annotations

import pytest

from conftest import REPO
from monitor.directory import DirectoryError, load_directory, parse_directory

SAMPLE = REPO / "monitor" / "data" / "directory.yaml"


def test_sample_is_the_charter_list():
    d = load_directory(SAMPLE)
    assert [x.name for x in d.departments] == ["경영기획팀", "교류협력팀", "개발협력팀", "세계시민협력팀",
                                               "유라시아 협력센터"]
    assert d.department_of("6831") == "교류협력팀"
    assert d.department_of("6815") == "경영기획팀"      # a range, nobody listed there
    assert d.department_of("6800") == "교류협력팀"      # queue pilot number
    assert d.department_of("6999") is None and d.department_of("") is None
    assert d.department_of("01012345678") is None
    assert d.person("6842").name == "최유나"
    assert d.department("유라시아협력센터").name == "유라시아 협력센터"   # by alias
    assert {p.extension for p in d.people_in("개발협력팀")} == {"6861", "6862", "6863"}


BASE = """departments:
  - name: 경영기획팀
    extensions: 6811-6815
  - name: 개발협력팀
    extensions: {dev}
people:
  - extension: "6811"
    name: 김민수
    department: 경영기획팀
  - extension: "{ext}"
    name: 이지은
    department: {dept}
"""


def _error(text: str) -> DirectoryError:
    with pytest.raises(DirectoryError) as info:
        parse_directory(text, "dir.yaml")
    return info.value


@pytest.mark.parametrize("dev,ext,dept,line,words", [
    ("6861-6813", "6812", "경영기획팀", 5, "inverted extension range 6861-6813"),
    ("6861~6813", "6812", "경영기획팀", 5, "inverted extension range 6861-6813"),
    ("6814-6820", "6812", "경영기획팀", 5, "overlaps 경영기획팀's 6811-6815 (line 3)"),
    ("6861-6863", "6811", "경영기획팀", 10, "extension 6811 already belongs to someone (line 7)"),
    ("6861-6863", "6812", "홍보팀", 10, "unknown department '홍보팀'"),
    ("6861-6863", "6862", "경영기획팀", 10, "extension 6862 is outside 경영기획팀's ranges"),
    ("6861-6863", "68a2", "경영기획팀", 10, "extension '68a2' is not a number"),
    ("sixty", "6812", "경영기획팀", 5, "'sixty' is not an extension"),
])
def test_each_mistake_names_its_line(dev, ext, dept, line, words):
    err = _error(BASE.format(dev=dev, ext=ext, dept=dept))
    assert err.line == line, str(err)
    assert f"dir.yaml:{line}: " in str(err) and words in str(err)


def test_all_problems_are_reported_together():
    err = _error(BASE.format(dev="6861-6813", ext="6811", dept="경영기획팀"))
    assert [line for line, _ in err.problems] == [5, 10]


def test_charter_typo_in_the_sample_is_rejected_at_its_line():
    text = SAMPLE.read_text(encoding="utf-8")
    line = next(i for i, s in enumerate(text.splitlines(), 1) if "extensions: 6861-6863" in s)
    err = _error(text.replace("extensions: 6861-6863", "extensions: 6861~6813"))
    assert str(err) == f"dir.yaml:{line}: department 개발협력팀: inverted extension range 6861-6813"


def test_overlap_inside_one_department_and_shared_aliases():
    err = _error("departments:\n  - name: A\n    extensions: [6811-6815,\n      6813]\n"
                 "  - name: B\n    extensions: 6820\n    aliases: [A]\n")
    assert err.problems == [(4, "department A: range 6813 overlaps its own 6811-6815 (line 3)"),
                            (5, "department B: 'A' already names department A (line 2)")]


@pytest.mark.parametrize("text,line,words", [
    ("departments:\n  - extensions: 6811-6815\n", 2, "department name is missing"),
    ("departments:\n  - name: A\n", 2, "department A: extensions are missing"),
    ("departments:\n  - name: A\n    extensions: 1\npeople:\n  - name: x\n    department: A\n",
     5, "a person: extension is missing"),
    ("departments: [\n  - name: x\n", 2, "not valid YAML (column 3)"),
    ("departments:\n  - name: A\n\textensions: 1\n", 3, "not valid YAML"),
    ("", 1, "the file is empty"),
    ("departmens: []\n", 1, "unknown key 'departmens'"),
    ("people: []\n", 1, "departments must be a list"),
    ("departments: {name: A}\n", 1, "departments must be a list"),
    ("departments:\n  - 경영기획팀\n", 2, "a department must be a mapping"),
    ("departments:\n  - name: [A, B]\n    extensions: 1\n", 2, "department name must be a single value"),
    ("departments:\n  - name: A\n    extensions: {a: 1}\n", 3, "extensions must be ranges"),
    ("departments:\n  - name: A\n    extensions:\n", 3, "'' is not an extension"),
    ("departments:\n  - name: A\n    extensions: 1\n    aliases: {x: y}\n", 4, "aliases must be a list"),
    ("departments:\n  - name: A\n    extensions: 1\n    extention: 2\n", 4, "unknown key 'extention'"),
    ("departments:\n  - name: A\n    name: B\n    extensions: 1\n", 3, "name is given twice"),
    ("departments:\n  - name: A\n    extensions: 1\npeople: 6811\n", 4, "people must be a list"),
    ("departments:\n  - name: A\n    extensions: 1\npeople:\n  - [1, x, A]\n", 5, "a person must be a mapping"),
    ("departments:\n  - name: A\n    extensions: 1\npeople:\n  - {extension: '', name: x, department: A}\n",
     5, "a person: extension is empty"),
])
def test_missing_keys_wrong_types_and_bad_yaml(text, line, words):
    err = _error(text)
    assert err.line == line and words in str(err), str(err)
    assert all(s.startswith("dir.yaml:") for s in str(err).splitlines())   # one problem per line


def test_empty_people_and_unquoted_extensions():
    d = parse_directory("departments:\n  - name: A\n    extensions: 6811-6812, 6800\npeople:\n", "x")
    assert d.people == [] and d.department_of("6800") == "A" and d.department_of("6812") == "A"
    d = parse_directory("departments:\n  - name: A\n    extensions: 6811\npeople:\n"
                        "  - {extension: 6811, name: 김민수, department: A, aliases: Minsu Kim}\n", "x")
    assert d.person("6811").aliases == ("Minsu Kim",)


def test_unreadable_file(tmp_path):
    with pytest.raises(DirectoryError) as info:
        load_directory(tmp_path / "missing.yaml")
    assert "cannot read" in str(info.value) and info.value.line == 0
    assert str(info.value).startswith(f"{tmp_path / 'missing.yaml'}: cannot read")
