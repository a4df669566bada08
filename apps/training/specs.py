"""Model specs as data: what each trainable model is called, its task and family, and the
hyperparameters it takes with their ranges. The web tier lists and validates against these;
the engines that implement them (fit, evaluate, predict, save, load) live in workers/engines
and are looked up by the same name, so the web tier never imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Task(StrEnum):
    CLASSIFICATION = "classification"
    DETECTION = "detection"


class Family(StrEnum):
    CLASSICAL = "classical"
    DEEP = "deep"


@dataclass(frozen=True)
class Hyperparameter:
    """One hyperparameter: `type` is int, float, str or bool; `min`/`max` bound numbers
    (inclusive); `choices` bound strings."""

    name: str
    type: type
    default: object
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] | None = None
    help: str = ""

    def describe(self) -> dict:
        return {
            "type": self.type.__name__,
            "default": self.default,
            "min": self.min,
            "max": self.max,
            "choices": list(self.choices) if self.choices else None,
            "help": self.help,
        }

    def check(self, value: object) -> object:
        """The value, converted to this hyperparameter's type; ValueError says why not."""
        if self.type is bool:
            if not isinstance(value, bool):
                raise ValueError("must be true or false")
            return value
        if self.type in (int, float):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"must be a number ({self.type.__name__})")
            if self.type is int and value != int(value):
                raise ValueError("must be a whole number")
            value = self.type(value)
            if self.min is not None and value < self.min:
                raise ValueError(f"must be at least {self.min}")
            if self.max is not None and value > self.max:
                raise ValueError(f"must be at most {self.max}")
            return value
        if not isinstance(value, str):
            raise ValueError("must be a string")
        if self.choices and value not in self.choices:
            raise ValueError(f"must be one of {', '.join(self.choices)}")
        return value


@dataclass(frozen=True)
class ModelSpec:
    name: str
    task: Task
    family: Family
    description: str
    hyperparameters: tuple[Hyperparameter, ...] = field(default_factory=tuple)

    def hyperparameter(self, name: str) -> Hyperparameter | None:
        return next((h for h in self.hyperparameters if h.name == name), None)

    def defaults(self) -> dict:
        return {h.name: h.default for h in self.hyperparameters}

    def describe(self) -> dict:
        return {
            "name": self.name,
            "task": self.task.value,
            "family": self.family.value,
            "description": self.description,
            "hyperparameters": {h.name: h.describe() for h in self.hyperparameters},
        }


class InvalidHyperparameters(ValueError):
    """Hyperparameters a spec refuses: `fields` maps each name to its problems."""

    def __init__(self, fields: dict[str, list[str]]):
        super().__init__("; ".join(f"{k}: {', '.join(v)}" for k, v in fields.items()))
        self.fields = fields


def validate_hyperparameters(spec: ModelSpec, values: dict) -> dict:
    """The spec's defaults overridden by `values`, each checked against its range.
    Raises InvalidHyperparameters naming every unknown or out-of-range one."""
    problems: dict[str, list[str]] = {}
    result = spec.defaults()
    for name, value in values.items():
        declared = spec.hyperparameter(name)
        if declared is None:
            problems[name] = [f"unknown for {spec.name}; known: {', '.join(result)}"]
            continue
        try:
            result[name] = declared.check(value)
        except ValueError as exc:
            problems[name] = [str(exc)]
    if problems:
        raise InvalidHyperparameters(problems)
    return result
