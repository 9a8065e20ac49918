"""Argument conditions of a risk rule: `when = { amount = { ">" = 1000 }, to = { contains = "@external" } }`.

Operators: `>`, `>=`, `<`, `<=`, `==`, `!=`, `in`, `contains`. A plain value instead of a table means `==`.
Numbers compare numerically, also when the agent sent them as text ("2,500", "$2500", "1e3"), because agents
are inconsistent and a rule like "amount > 1000" must not be dodged by quoting the number.
An argument that is missing, or that can't be compared (text against `>`), never matches.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from hitl_tui.errors import ConfigError

_MISSING = object()
# Currency signs and thousands separators an agent may put into a number it sends as text.
_NUMBER_NOISE = re.compile(r"[\s,_$€£¥]")


def as_number(value: Any) -> float | None:
    """A finite number from an int, float or numeric text; None otherwise (booleans are not numbers)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        text = _NUMBER_NOISE.sub("", value)
        if not text:
            return None
        try:
            number = float(text)
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _equal(left: Any, right: Any) -> bool:
    # Numeric when either side is a real number (so 2500 == "2,500"); two texts compare as text.
    if _is_number(left) or _is_number(right):
        a, b = as_number(left), as_number(right)
        if a is not None and b is not None:
            return a == b
    return bool(left == right)


def _ordered(check: Callable[[float, float], bool]) -> Callable[[Any, Any], bool]:
    def compare(arg: Any, limit: Any) -> bool:
        a, b = as_number(arg), as_number(limit)
        return a is not None and b is not None and check(a, b)

    return compare


def _in(arg: Any, options: Any) -> bool:
    return isinstance(options, list | tuple) and any(_equal(arg, o) for o in options)


def _contains(arg: Any, needle: Any) -> bool:
    # Case-insensitive for text: addresses, paths and channel names are compared the way people read them.
    if isinstance(arg, str) and isinstance(needle, str):
        return needle.casefold() in arg.casefold()
    if isinstance(arg, list | tuple):
        return any(_equal(item, needle) for item in arg)
    if isinstance(arg, Mapping):
        return needle in arg
    return False


OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    ">": _ordered(lambda a, b: a > b),
    ">=": _ordered(lambda a, b: a >= b),
    "<": _ordered(lambda a, b: a < b),
    "<=": _ordered(lambda a, b: a <= b),
    "==": _equal,
    "!=": lambda a, b: not _equal(a, b),
    "in": _in,
    "contains": _contains,
}


def lookup(args: Any, name: str) -> Any:
    """`args[name]`, or a dotted path into nested objects ("recipient.domain"); _MISSING when absent."""
    if isinstance(args, Mapping) and name in args:
        return args[name]
    current = args
    for part in name.split("."):
        if isinstance(current, Mapping) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return _MISSING
    return current


def check_conditions(when: Any, where: str) -> None:
    """Raise ConfigError (one sentence) when a rule's `when` table is malformed."""
    if not isinstance(when, Mapping):
        raise ConfigError(f"{where}.when must be a table of argument conditions.")
    for arg, condition in when.items():
        if not isinstance(condition, Mapping):
            continue  # a plain value: equality
        if not condition:
            raise ConfigError(f"{where}.when.{arg} is an empty table; give an operator such as '>' = 1000.")
        for op, value in condition.items():
            if op not in OPERATORS:
                raise ConfigError(
                    f"{where}.when.{arg} uses unknown operator {op!r}; use one of {', '.join(OPERATORS)}."
                )
            if op == "in" and not isinstance(value, list | tuple):
                raise ConfigError(f"{where}.when.{arg}: 'in' needs a list of values.")
            if op in (">", ">=", "<", "<=") and as_number(value) is None:
                raise ConfigError(f"{where}.when.{arg}: {op!r} needs a number, not {value!r}.")


def matches(when: Mapping[str, Any], args: Any) -> bool:
    """True when every condition holds for `args` (all conditions of a table must hold)."""
    for arg, condition in when.items():
        value = lookup(args, arg)
        if value is _MISSING:
            return False
        tests = condition.items() if isinstance(condition, Mapping) else [("==", condition)]
        for op, expected in tests:
            compare = OPERATORS.get(op)
            if compare is None:
                raise ConfigError(f"A risk rule uses unknown operator {op!r}; use one of {', '.join(OPERATORS)}.")
            if not compare(value, expected):
                return False
    return True
