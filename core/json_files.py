"""Bounded JSON reading and typed fields: a hostile file gives one ChoreoError line, never a crash.

``read_json_file`` refuses files that are too large or nested too deeply (before ``json`` could
recurse), NaN/Infinity and numbers too large to use; the ``require_*`` helpers read one field of
a JSON object with its type, range and finiteness checked, naming the file and the field.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from choreo_studio.core.atomic_io import read_at_most
from choreo_studio.core.errors import ChoreoError

if TYPE_CHECKING:  # numpy loads in the two functions that use it, not with `choreo --help`
    import numpy as np

MAX_JSON_BYTES = 256 * 1024 * 1024
MAX_JSON_DEPTH = 64
MAX_NUMBER_DIGITS = 400
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKET = re.compile(rb"[^\[\]{}]+")
_MISSING: Any = object()


@dataclass(frozen=True)
class Where:
    """Where a JSON value comes from (file and dotted field path) and what the user can do."""

    file: str
    fix: str = "correct the field or re-create the file"
    field: str = ""

    def at(self, key: str | int) -> Where:
        """The location of a member (``key``) or list item (``int``) of this value."""
        if isinstance(key, int):
            return Where(self.file, self.fix, f"{self.field}[{key}]")
        return Where(self.file, self.fix, f"{self.field}.{key}" if self.field else key)

    def error(self, problem: str) -> ChoreoError:
        """A one-line error: file, field, what is wrong, what to do."""
        name = f"field '{self.field}' " if self.field else ""
        return ChoreoError(f"{self.file}: {name}{problem} — {self.fix}")


def short_repr(value: Any, limit: int = 40) -> str:
    """``repr(value)`` cut to ``limit`` characters, so an error never echoes a huge value."""
    if isinstance(value, (str, bytes)) and len(value) > limit:
        value = value[:limit]
        return repr(value)[:-1] + "…" + repr(value)[-1]
    text = repr(value) if not isinstance(value, (dict, list)) else type(value).__name__
    return text if len(text) <= limit else text[:limit] + "…"


def _got(value: Any) -> str:
    """What a wrong value was, for an error: its type, and the value itself if it is short."""
    if isinstance(value, (dict, list)) or value is None:
        return _type_name(value)
    return f"{_type_name(value)} {short_repr(value)}"


def _type_name(value: Any) -> str:
    """A person's name for a JSON value's type."""
    names = {bool: "true/false", int: "an integer", float: "a number", str: "a string",
             list: "a list", dict: "an object", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def json_depth(data: bytes) -> int:
    """Deepest nesting of objects/arrays in JSON text (strings ignored), without recursion."""
    brackets = _NOT_BRACKET.sub(b"", _STRING.sub(b'""', data))
    if not brackets:
        return 0
    import numpy as np

    codes = np.frombuffer(brackets, dtype=np.uint8)
    steps = np.where((codes == ord("[")) | (codes == ord("{")), 1, -1)
    return int(np.cumsum(steps).max())


def _parse_number(text: str) -> float | int:
    """A JSON number, refusing ones too long to be a real value (5,000-digit integers)."""
    if len(text) > MAX_NUMBER_DIGITS:
        raise ValueError(f"a number with {len(text)} digits")
    value = float(text) if any(c in text for c in ".eE") else int(text)
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"the number {text[:20]} is too large")
    return value


def _refuse_constant(name: str) -> Any:
    """NaN / Infinity are not JSON; files written by Choreo Studio never hold them."""
    raise ValueError(f"{name} is not a valid JSON number")


def parse_json_bytes(data: bytes, where: Where, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parse UTF-8 JSON with a nesting limit; any problem is a one-line ChoreoError."""
    depth = json_depth(data)
    if depth > max_depth:
        raise where.error(f"JSON nested {depth} levels deep (at most {max_depth} allowed)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise where.error(f"not UTF-8 text (byte {exc.start})") from None
    try:
        return json.loads(text, parse_int=_parse_number, parse_float=_parse_number,
                          parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise where.error(f"not valid JSON (line {exc.lineno}, column {exc.colno}: "
                          f"{exc.msg})") from None
    except (ValueError, RecursionError) as exc:
        raise where.error(f"not usable JSON ({exc})") from None


def read_json_file(
    path: str | os.PathLike[str],
    *,
    fix: str = "re-create the file",
    max_bytes: int = MAX_JSON_BYTES,
    max_depth: int = MAX_JSON_DEPTH,
) -> Any:
    """Read a JSON file with size and depth limits; missing, unreadable or bad -> ChoreoError."""
    where = Where(str(path), fix)
    data = read_at_most(path, max_bytes)
    if len(data) > max_bytes:
        raise where.error(f"file larger than {max_bytes // (1024 * 1024)} MB")
    return parse_json_bytes(data, where, max_depth=max_depth)


def require_object(value: Any, where: Where) -> dict[str, Any]:
    """``value`` itself as a JSON object (dict with string keys)."""
    if not isinstance(value, dict):
        raise where.error(f"must be a JSON object (got {_type_name(value)})")
    return value


def _get(obj: Mapping[str, Any], key: str, where: Where, default: Any) -> Any:
    """The member ``key`` of ``obj`` or ``default``; missing without a default is an error."""
    if key in obj:
        return obj[key]
    if default is _MISSING:
        raise where.at(key).error("is missing")
    return default


def check_number(
    value: Any, where: Where, *, lo: float | None = None, hi: float | None = None,
    integer: bool = False,
) -> float | int:
    """A finite number (an integer if asked) within ``[lo, hi]``; bools are not numbers."""
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds):
        wanted = "an integer" if integer else "a number"
        raise where.error(f"must be {wanted} (got {_got(value)})")
    if isinstance(value, float) and not math.isfinite(value):
        raise where.error(f"must be a finite number (got {value})")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        span = f"between {lo} and {hi}" if lo is not None and hi is not None else (
            f"at least {lo}" if lo is not None else f"at most {hi}")
        raise where.error(f"must be {span} (got {short_repr(value)})")
    return value


def require_int(
    obj: Mapping[str, Any], key: str, where: Where, *, default: Any = _MISSING,
    lo: int | None = None, hi: int | None = None,
) -> int:
    """An integer member within ``[lo, hi]``."""
    value = _get(obj, key, where, default)
    if value is default and default is not _MISSING:
        return value
    return int(check_number(value, where.at(key), lo=lo, hi=hi, integer=True))


def require_float(
    obj: Mapping[str, Any], key: str, where: Where, *, default: Any = _MISSING,
    lo: float | None = None, hi: float | None = None,
) -> float:
    """A finite number member within ``[lo, hi]`` (integers accepted)."""
    value = _get(obj, key, where, default)
    if value is default and default is not _MISSING:
        return value
    return float(check_number(value, where.at(key), lo=lo, hi=hi))


def check_str(value: Any, where: Where, *, max_len: int = 4096,
              choices: tuple[str, ...] | None = None) -> str:
    """A string of at most ``max_len`` characters (one of ``choices`` if given)."""
    if not isinstance(value, str):
        raise where.error(f"must be a string (got {_got(value)})")
    if len(value) > max_len:
        raise where.error(f"is {len(value)} characters long (at most {max_len})")
    if choices is not None and value not in choices:
        raise where.error(f"must be one of {', '.join(choices)} (got {short_repr(value)})")
    return value


def require_str(
    obj: Mapping[str, Any], key: str, where: Where, *, default: Any = _MISSING,
    max_len: int = 4096, choices: tuple[str, ...] | None = None,
) -> str:
    """A string member of at most ``max_len`` characters (one of ``choices`` if given)."""
    value = _get(obj, key, where, default)
    if value is default and default is not _MISSING:
        return value
    return check_str(value, where.at(key), max_len=max_len, choices=choices)


def require_bool(obj: Mapping[str, Any], key: str, where: Where, *,
                 default: Any = _MISSING) -> bool:
    """A true/false member (``"no"`` or ``0`` are refused, not read as truthy)."""
    value = _get(obj, key, where, default)
    if value is default and default is not _MISSING:
        return value
    if not isinstance(value, bool):
        raise where.at(key).error(f"must be true or false (got {_got(value)})")
    return value


def require_list(
    obj: Mapping[str, Any], key: str, where: Where, *, default: Any = _MISSING,
    max_len: int = 10_000_000, min_len: int = 0,
) -> list[Any]:
    """A list member with ``min_len`` to ``max_len`` items."""
    value = _get(obj, key, where, default)
    if value is default and default is not _MISSING:
        return value
    if not isinstance(value, list):
        raise where.at(key).error(f"must be a list (got {_type_name(value)})")
    if not min_len <= len(value) <= max_len:
        raise where.at(key).error(f"has {len(value)} items (needs {min_len} to {max_len})")
    return value


def require_dict(obj: Mapping[str, Any], key: str, where: Where, *,
                 default: Any = _MISSING) -> dict[str, Any]:
    """An object member."""
    value = _get(obj, key, where, default)
    if value is default and default is not _MISSING:
        return value
    return require_object(value, where.at(key))


def require_numbers(
    obj: Mapping[str, Any], key: str, where: Where, *, default: Any = _MISSING,
    lo: float | None = None, hi: float | None = None, min_len: int = 0,
    increasing: bool = False,
) -> np.ndarray:
    """A list of finite numbers (float64 array) within ``[lo, hi]``, optionally increasing."""
    import numpy as np

    items = require_list(obj, key, where, default=default, min_len=min_len)
    field = where.at(key)
    for i, item in enumerate(items):
        if isinstance(item, bool) or not isinstance(item, (int, float)):
            raise field.at(i).error(f"must be a number (got {_type_name(item)})")
    values = np.asarray(items, dtype=np.float64).reshape(-1)
    bad = ~np.isfinite(values)
    if lo is not None:
        bad |= values < lo
    if hi is not None:
        bad |= values > hi
    if bad.any():
        i = int(np.argmax(bad))
        raise field.at(i).error(f"must be a finite number in [{lo}, {hi}] (got {values[i]})")
    if increasing and values.size > 1 and not (np.diff(values) > 0).all():
        i = int(np.argmax(np.diff(values) <= 0)) + 1
        raise field.at(i).error("must be larger than the item before it")
    return values

