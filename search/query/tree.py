"""The typed query tree: what the parser yields and what both compilers read.

Every node is a frozen dataclass. A tree that reaches a compiler has been checked: fields
exist in their scope, operators fit the field, literals fit the operator. Semantics that both
backends must share are written down in docs/query-language.md; the ones that shape the tree
are noted here.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from enum import StrEnum


class Scope(StrEnum):
    """Where a field is looked up: on the data row, on one annotation inside `label(...)`,
    or on one predicted object inside `prediction(...)`."""

    ROW = "row"
    ANNOTATION = "annotation"
    PREDICTION = "prediction"


class FieldKind(StrEnum):
    STRING = "string"  # external_id; class, source, type, model, eval in a group
    NUMBER = "number"  # width, height; area, version, score, iou in a group
    DATETIME = "datetime"  # created_at, updated_at
    DATASET = "dataset"  # by id (number) or by name (string)
    TAGS = "tags"  # an array of strings
    JSON = "json"  # metadata.<path> on a row, attributes.<path> on an annotation
    TEXT = "text"  # every string value of the metadata, at any depth; only `~`


@dataclass(frozen=True)
class Field:
    """A resolved field. `name` is the built-in's name (`width`, `class`, `metadata`,
    `attributes`, ...); `path` is the key path under `metadata` / `attributes`, one string
    per level (`metadata.camera."lens id"` has path ("camera", "lens id"))."""

    name: str
    kind: FieldKind
    path: tuple[str, ...] = ()

    def __str__(self) -> str:
        return ".".join((self.name, *(quoted_key(p) for p in self.path)))

    @property
    def key(self) -> str:
        """The key path as the query writes it (`camera."lens id"`): the index stores
        metadata and attribute entries under this exact string."""
        return key_path(self.path)


def key_path(path: tuple[str, ...] | list[str]) -> str:
    return ".".join(quoted_key(p) for p in path)


def quoted_key(key: str) -> str:
    if key.isidentifier():
        return key
    return '"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


# A literal as the query wrote it: str, int, float, bool, datetime.date (a day) or an aware
# datetime.datetime (an instant; a datetime written without an offset is UTC). A bool is not
# a number here, even though Python says it is an int.
Literal = str | int | float | bool | datetime.date | datetime.datetime


class Comparison(StrEnum):
    EQ = "="
    NE = "!="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="


@dataclass(frozen=True)
class Compare:
    """`field <op> value`. `!=` means NOT `=`: a row lacking the field matches it."""

    field: Field
    op: Comparison
    value: Literal


@dataclass(frozen=True)
class In:
    """`field IN (v, ...)`: any value equals. `negated` is `NOT IN`, which means NOT `IN`.
    On `tags`: the row has any of the tags."""

    field: Field
    values: tuple[Literal, ...]
    negated: bool = False


@dataclass(frozen=True)
class Contains:
    """`tags CONTAINS 'x'`."""

    field: Field
    value: str


@dataclass(frozen=True)
class Exists:
    """`metadata.key EXISTS`: the key is present at that path (even holding null, [] or {})."""

    field: Field


@dataclass(frozen=True)
class TextMatch:
    """`field ~ 'rainy night'`: one string value holds every word. Words are runs of letters
    and digits, compared lower-cased; `words` are already split and lower-cased, at least one."""

    field: Field
    words: tuple[str, ...]


def words_of(text: str) -> tuple[str, ...]:
    """The words of a text as `~` sees them: maximal runs of letters (Unicode category L)
    and decimal digits (Nd), lower-cased. Index documents store these words (documents.py),
    so Elasticsearch agrees exactly; Postgres matches them between `[[:alnum:]]` boundaries,
    which agree for every script whose letters are all of category L (not, for instance,
    Devanagari's vowel signs): see docs/query-language.md."""
    words, current = [], []
    for ch in text:
        if ch.isalpha() or ch.isdecimal():
            current.append(ch)
        elif current:
            words.append("".join(current).lower())
            current = []
    if current:
        words.append("".join(current).lower())
    return tuple(words)


class GroupKind(StrEnum):
    LABEL = "label"
    PREDICTION = "prediction"

    @property
    def scope(self) -> Scope:
        """Where the fields inside a group of this kind are looked up."""
        return Scope.ANNOTATION if self is GroupKind.LABEL else Scope.PREDICTION


@dataclass(frozen=True)
class Group:
    """`label(condition)`: some annotation of the row satisfies the whole condition;
    `prediction(condition)`: some predicted object of the row does. `condition` is None for
    `label()` / `prediction()`: the row has any annotation (predicted object) at all."""

    kind: GroupKind
    condition: Node | None


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    child: Node


Node = Compare | In | Contains | Exists | TextMatch | Group | And | Or | Not
