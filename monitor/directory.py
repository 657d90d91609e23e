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

from .errors import TelmonError

# "6811-6815", "6800", and the charter's own "6811~6815" spelling.
MAX_EXTENSION_DIGITS = 8     # caller numbers are longer: a range must never cover them
MAX_RANGE = 100_000
_RANGE = re.compile(r"^\s*(\d+)\s*(?:[-~]\s*(\d+))?\s*$")
_DEPT_KEYS = ("name", "english", "extensions", "aliases")
_PERSON_KEYS = ("extension", "name", "department", "aliases")

Node = yaml.Node
Problems = list[tuple[int, str]]


class DirectoryError(TelmonError, ValueError):
    """Problems in a directory file: ``problems`` are (line, message) pairs, ``line`` the first
    (0 when the file could not be read at all)."""

    def __init__(self, source: str, problems: Problems) -> None:
        self.source = source
        self.problems = sorted(problems)
        self.line = self.problems[0][0] if self.problems else 0
        super().__init__("\n".join(f"{source}:{line}: {msg}" if line else f"{source}: {msg}"
                                   for line, msg in self.problems))


@dataclass(frozen=True)
class ExtRange:
    """An inclusive range of extensions of one department (``line``: where it was written)."""

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
        # Ranges never overlap (the parser rejects it), so one bisect finds the only candidate.
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
        """Everybody in a department (by its name)."""
        return [p for p in self.people if p.department == department]


def _line(node: Node) -> int:
    """1-based line where a YAML node starts."""
    return node.start_mark.line + 1


def _mapping(node: Node, what: str, keys: tuple[str, ...], problems: Problems) -> dict[str, Node]:
    """A mapping node's keys; unknown and repeated keys are errors (a typo must not vanish)."""
    if not isinstance(node, yaml.MappingNode):
        problems.append((_line(node), f"{what} must be a mapping of keys to values"))
        return {}
    out: dict[str, Node] = {}
    for k, v in node.value:
        key = k.value if isinstance(k, yaml.ScalarNode) else None
        if key not in keys:
            problems.append((_line(k), f"{what}: unknown key {key!r} (expected {', '.join(keys)})"))
        elif key in out:
            problems.append((_line(k), f"{what}: {key} is given twice"))
        else:
            out[key] = v
    return out


def _scalar(node: Optional[Node], what: str, problems: Problems, line: int) -> Optional[str]:
    if node is None:
        problems.append((line, f"{what} is missing"))
        return None
    if not isinstance(node, yaml.ScalarNode):
        problems.append((_line(node), f"{what} must be a single value, not a list or mapping"))
        return None
    if not node.value.strip():
        problems.append((_line(node), f"{what} is empty"))
        return None
    return node.value.strip()


def _strings(node: Optional[Node], what: str, problems: Problems) -> tuple[str, ...]:
    items = [] if node is None else [node] if isinstance(node, yaml.ScalarNode) else node.value
    if isinstance(node, (type(None), yaml.ScalarNode, yaml.SequenceNode)) and \
            all(isinstance(n, yaml.ScalarNode) for n in items):
        return tuple(n.value.strip() for n in items if n.value.strip())
    problems.append((_line(node), f"{what} must be a list of words"))
    return ()


def _ranges(node: Optional[Node], dept: str, problems: Problems, line: int) -> list[ExtRange]:
    if node is None:
        problems.append((line, f"department {dept}: extensions are missing"))
        return []
    items = node.value if isinstance(node, yaml.SequenceNode) else [node]
    out = []
    for item in items:
        if not isinstance(item, yaml.ScalarNode):
            problems.append((_line(item), f"department {dept}: extensions must be ranges A-B or extensions"))
            continue
        for part in item.value.split(","):  # "6800, 6811-6815" is a list too
            m = _RANGE.match(part)
            if not m:
                problems.append((_line(item), f"department {dept}: {part.strip()!r} is not an extension "
                                              "or a range A-B"))
                continue
            first, last = int(m.group(1)), int(m.group(2) or m.group(1))
            if max(len(m.group(1)), len(m.group(2) or "")) > MAX_EXTENSION_DIGITS or last - first >= MAX_RANGE:
                # A range this wide would claim outside callers' numbers for a department.
                problems.append((_line(item), f"department {dept}: range {part.strip()!r} is too wide (extensions "
                                              f"have at most {MAX_EXTENSION_DIGITS} digits, a range at most "
                                              f"{MAX_RANGE} extensions)"))
                continue
            if last < first:
                problems.append((_line(item), f"department {dept}: inverted extension range {first}-{last}"))
                continue
            out.append(ExtRange(first, last, _line(item)))
    return out


def _yaml_problem(exc: yaml.YAMLError) -> tuple[int, str]:
    """YAML's own line and a one-line message (its default text spans several lines)."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if mark is None:
        return 1, f"not valid YAML: {what}"
    return mark.line + 1, f"not valid YAML (column {mark.column + 1}): {what}"


def parse_directory(text: str, source: str = "directory") -> Directory:
    """Parse directory YAML; raise :class:`DirectoryError` listing every problem with its line."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise DirectoryError(source, [_yaml_problem(exc)]) from None
    if root is None:
        raise DirectoryError(source, [(1, "the file is empty")])
    problems: Problems = []
    top = _mapping(root, "the file", ("departments", "people"), problems)
    departments = _departments(top.get("departments"), problems, _line(root))
    people = _people(top.get("people"), departments, problems)
    if problems:
        raise DirectoryError(source, problems)
    return Directory(departments, people)


def _departments(node: Optional[Node], problems: Problems, line: int) -> list[Department]:
    if not isinstance(node, yaml.SequenceNode):
        problems.append((_line(node) if node is not None else line, "departments must be a list"))
        return []
    out: list[Department] = []
    spoken: dict[str, tuple[str, int]] = {}  # name or alias -> (department, line)
    for item in node.value:
        m = _mapping(item, "a department", _DEPT_KEYS, problems)
        name = _scalar(m.get("name"), "department name", problems, _line(item))
        if name is None:
            continue
        ranges = _ranges(m.get("extensions"), name, problems, _line(item))
        english = _scalar(m["english"], f"department {name}: english", problems, 0) if "english" in m else ""
        aliases = _strings(m.get("aliases"), f"department {name}: aliases", problems)
        # A name or alias shared by two departments would make a greeting ambiguous.
        for word in dict.fromkeys((name, *aliases)):
            if word in spoken:
                other, at = spoken[word]
                what = "is listed twice" if other == name else f"already names department {other}"
                problems.append((_line(item), f"department {name}: {word!r} {what} (line {at})"))
            else:
                spoken[word] = (name, _line(item))
        out.append(Department(name, tuple(ranges), english or "", aliases))
    _check_overlaps(out, problems)
    return out


def _check_overlaps(departments: list[Department], problems: Problems) -> None:
    """Every extension belongs to at most one range: sort, then compare neighbours."""
    spans = sorted(((r, d.name) for d in departments for r in d.ranges), key=lambda s: (s[0].first, s[0].last))
    widest: Optional[tuple[ExtRange, str]] = None
    for r, name in spans:
        if widest is not None and r.first <= widest[0].last:
            o, other = widest
            # Report at whichever was written later, pointing back at the earlier one.
            (late, late_name), (early, early_name) = sorted([(r, name), (o, other)], key=lambda s: -s[0].line)
            owner = "its own" if late_name == early_name else f"{early_name}'s"
            problems.append((late.line, f"department {late_name}: range {late} overlaps {owner} {early} "
                                        f"(line {early.line})"))
        if widest is None or r.last > widest[0].last:
            widest = (r, name)


def _people(node: Optional[Node], departments: list[Department], problems: Problems) -> list[Person]:
    if node is None or (isinstance(node, yaml.ScalarNode) and node.value == ""):
        return []  # "people:" left empty: departments only, no names yet
    if not isinstance(node, yaml.SequenceNode):
        problems.append((_line(node), "people must be a list"))
        return []
    by_name = {d.name: d for d in departments}
    seen: dict[str, int] = {}
    out: list[Person] = []
    for item in node.value:
        m = _mapping(item, "a person", _PERSON_KEYS, problems)
        line = _line(item)
        ext, name, dept = (_scalar(m.get(k), f"a person: {k}", problems, line) for k in _PERSON_KEYS[:3])
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
        out.append(Person(ext, name, dept, _strings(m.get("aliases"), f"{name}: aliases", problems)))
    return out


def load_directory(path: Union[str, Path]) -> Directory:
    """Read and parse a directory file (UTF-8 YAML); errors name the file and line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DirectoryError(str(path), [(0, f"cannot read the directory: {exc.strerror or exc}")]) from None
    except UnicodeDecodeError:
        raise DirectoryError(str(path), [(0, "the directory must be UTF-8 text")]) from None
    return parse_directory(text, str(path))
