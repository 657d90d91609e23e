"""The directory: departments with extension ranges, and the people at each extension.

An office admin edits it as YAML (``monitor/data/directory.yaml`` is the sample:
the charter's departments). Every mistake is reported with the file and line of
the item at fault, all of them at once, because a directory with one typo must
not silently misattribute calls (and people's verdicts) to the wrong department.

Parsing (:func:`parse_directory`) works on text; only :func:`load_directory`
touches the file system.
"""
from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Union

import yaml

_RANGE = re.compile(r"^\s*(\d+)\s*(?:[-~]\s*(\d+))?\s*$")


class DirectoryError(ValueError):
    """One or more problems in a directory file; ``problems`` holds (line, message) pairs."""

    def __init__(self, source: str, problems: list[tuple[int, str]]) -> None:
        self.source = source
        self.problems = sorted(problems)
        self.line = self.problems[0][0] if self.problems else 0
        super().__init__("\n".join(f"{source}:{line}: {msg}" for line, msg in self.problems))


@dataclass(frozen=True)
class ExtRange:
    """An inclusive range of extensions of one department."""

    first: int
    last: int
    line: int = 0

    def __str__(self) -> str:
        return str(self.first) if self.first == self.last else f"{self.first}-{self.last}"


@dataclass(frozen=True)
class Department:
    """A department: its name, ranges and the ways it may be spoken."""

    name: str
    ranges: tuple[ExtRange, ...]
    english: str = ""
    aliases: tuple[str, ...] = ()

    def owns(self, extension: str) -> bool:
        """True when the extension lies in one of the department's ranges."""
        return extension.isdigit() and any(r.first <= int(extension) <= r.last for r in self.ranges)


@dataclass(frozen=True)
class Person:
    """Somebody who answers the phone at an extension."""

    extension: str
    name: str
    department: str
    aliases: tuple[str, ...] = ()


@dataclass
class Directory:
    """Departments and people, with fast lookups by extension."""

    departments: list[Department]
    people: list[Person]
    _people: dict[str, Person] = field(default_factory=dict, repr=False)
    _starts: list[int] = field(default_factory=list, repr=False)
    _spans: list[tuple[int, int, str]] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self._people = {p.extension: p for p in self.people}
        self._spans = sorted((r.first, r.last, d.name) for d in self.departments for r in d.ranges)
        self._starts = [s[0] for s in self._spans]

    def department_of(self, extension: str) -> Optional[str]:
        """The department of an extension: the person's, else the range's, else None."""
        person = self._people.get(extension)
        if person is not None:
            return person.department
        if not extension or not extension.isdigit():
            return None
        n = int(extension)
        i = bisect.bisect_right(self._starts, n) - 1
        if i >= 0 and self._spans[i][0] <= n <= self._spans[i][1]:
            return self._spans[i][2]
        return None

    def person(self, extension: str) -> Optional[Person]:
        """The person at an extension, if the directory names one."""
        return self._people.get(extension)

    def department(self, name: str) -> Optional[Department]:
        """A department by name or alias."""
        return next((d for d in self.departments if name == d.name or name in d.aliases), None)

    def people_in(self, department: str) -> list[Person]:
        """Everybody in a department."""
        return [p for p in self.people if p.department == department]


Node = yaml.Node


def _line(node: Node) -> int:
    return node.start_mark.line + 1


def _mapping(node: Node, what: str, problems: list) -> dict[str, Node]:
    if not isinstance(node, yaml.MappingNode):
        problems.append((_line(node), f"{what} must be a mapping of keys to values"))
        return {}
    return {k.value: v for k, v in node.value if isinstance(k, yaml.ScalarNode)}


def _scalar(node: Optional[Node], what: str, problems: list, line: int) -> Optional[str]:
    if node is None:
        problems.append((line, f"{what} is missing"))
        return None
    if not isinstance(node, yaml.ScalarNode) or node.value == "":
        problems.append((_line(node), f"{what} must be a single value"))
        return None
    return str(node.value).strip()


def _strings(node: Optional[Node], what: str, problems: list) -> tuple[str, ...]:
    if node is None:
        return ()
    if isinstance(node, yaml.ScalarNode):
        return (node.value,) if node.value else ()
    if isinstance(node, yaml.SequenceNode) and all(isinstance(n, yaml.ScalarNode) for n in node.value):
        return tuple(n.value for n in node.value)
    problems.append((_line(node), f"{what} must be a list of words"))
    return ()


def _ranges(node: Optional[Node], dept: str, problems: list, line: int) -> list[ExtRange]:
    if node is None:
        problems.append((line, f"department {dept}: extensions are missing"))
        return []
    items = node.value if isinstance(node, yaml.SequenceNode) else [node]
    pieces = []
    for item in items:  # "6811-6815, 6800" in one string is a list too
        text = str(item.value) if isinstance(item, yaml.ScalarNode) else ""
        pieces.extend((item, part) for part in (text.split(",") if text else [""]))
    out = []
    for item, text in pieces:
        m = _RANGE.match(text)
        if not m:
            problems.append((_line(item), f"department {dept}: {text or 'this'!r} is not an extension or a range A-B"))
            continue
        first, last = int(m.group(1)), int(m.group(2) or m.group(1))
        if last < first:
            problems.append((_line(item), f"department {dept}: inverted extension range {first}-{last}"))
            continue
        out.append(ExtRange(first, last, _line(item)))
    return out


def parse_directory(text: str, source: str = "directory") -> Directory:
    """Parse directory YAML; raise :class:`DirectoryError` listing every problem with its line."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise DirectoryError(source, [((mark.line + 1) if mark else 1, f"not valid YAML: {exc}")]) from None
    problems: list[tuple[int, str]] = []
    if root is None:
        raise DirectoryError(source, [(1, "the file is empty")])
    top = _mapping(root, "the file", problems)
    departments = _departments(top.get("departments"), problems, _line(root))
    people = _people(top.get("people"), departments, problems)
    for key in top:
        if key not in ("departments", "people"):
            problems.append((_line(root), f"unknown key {key!r} (expected departments, people)"))
    if problems:
        raise DirectoryError(source, problems)
    return Directory(departments, people)


def _departments(node: Optional[Node], problems: list, line: int) -> list[Department]:
    if not isinstance(node, yaml.SequenceNode):
        problems.append((_line(node) if node is not None else line, "departments must be a list"))
        return []
    out: list[Department] = []
    for item in node.value:
        m = _mapping(item, "a department", problems)
        name = _scalar(m.get("name"), "department name", problems, _line(item))
        if name is None:
            continue
        if any(d.name == name for d in out):
            problems.append((_line(item), f"department {name} is listed twice"))
        ranges = _ranges(m.get("extensions"), name, problems, _line(item))
        for r in ranges:
            for other in out:
                for o in other.ranges:
                    if r.first <= o.last and o.first <= r.last:
                        problems.append((r.line, f"department {name}: range {r} overlaps {other.name}'s {o} "
                                                 f"(line {o.line})"))
        english = _scalar(m["english"], "english", problems, _line(item)) if "english" in m else ""
        out.append(Department(name, tuple(ranges), english or "", _strings(m.get("aliases"), "aliases", problems)))
    return out


def _people(node: Optional[Node], departments: list[Department], problems: list) -> list[Person]:
    if node is None:
        return []
    if not isinstance(node, yaml.SequenceNode):
        problems.append((_line(node), "people must be a list"))
        return []
    by_name = {d.name: d for d in departments}
    seen: dict[str, int] = {}
    out: list[Person] = []
    for item in node.value:
        m = _mapping(item, "a person", problems)
        line = _line(item)
        ext = _scalar(m.get("extension"), "extension", problems, line)
        name = _scalar(m.get("name"), "name", problems, line)
        dept = _scalar(m.get("department"), "department", problems, line)
        if ext is None or name is None or dept is None:
            continue
        if not ext.isdigit():
            problems.append((line, f"{name}: extension {ext!r} is not a number"))
            continue
        if ext in seen:
            problems.append((line, f"{name}: extension {ext} already belongs to someone (line {seen[ext]})"))
            continue
        seen[ext] = line
        department = by_name.get(dept)
        if department is None:
            problems.append((line, f"{name}: unknown department {dept!r}"))
            continue
        if department.ranges and not department.owns(ext):
            problems.append((line, f"{name}: extension {ext} is outside {dept}'s ranges "
                                   f"({', '.join(str(r) for r in department.ranges)})"))
            continue
        out.append(Person(ext, name, dept, _strings(m.get("aliases"), "aliases", problems)))
    return out


def load_directory(path: Union[str, Path]) -> Directory:
    """Read and parse a directory file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DirectoryError(str(path), [(0, f"cannot read the directory: {exc.strerror}")]) from None
    except UnicodeDecodeError:
        raise DirectoryError(str(path), [(1, "the directory must be UTF-8 text")]) from None
    return parse_directory(text, str(path))
