"""The directory file: lookups on the sample, and every mistake named with its line."""
from __future__ import annotations

import pytest

from conftest import REPO
from monitor.directory import DirectoryError, load_directory, parse_directory

SAMPLE = REPO / "monitor" / "data" / "directory.yaml"


def test_sample_is_the_charter_list():
    d = load_directory(SAMPLE)
    assert [x.name for x in d.departments] == ["경영기획팀", "교류협력팀", "개발협력팀", "세계시민협력팀", "유라시아 협력센터"]
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


def test_missing_keys_and_bad_yaml():
    err = _error("departments:\n  - extensions: 6811-6815\n")
    assert err.line == 2 and "department name is missing" in str(err)
    err = _error("departments: [\n  - name: x\n")
    assert "not valid YAML" in str(err)
    err = _error("")
    assert "empty" in str(err)
    err = _error("departmens: []\n")
    assert "unknown key 'departmens'" in str(err)


def test_unreadable_file(tmp_path):
    with pytest.raises(DirectoryError) as info:
        load_directory(tmp_path / "missing.yaml")
    assert "cannot read" in str(info.value)
