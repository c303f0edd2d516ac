"""JSON text in and out of the hot paths (request bodies, stored documents, responses), via orjson.

orjson parses about twice and writes over ten times as fast as the standard library. Where the two
would differ, the standard library decides: numbers of 20 digits or more (orjson reads integers beyond
64 bits as floats) and lone surrogates. NaN and Infinity are not JSON (RFC 8259), and PostgreSQL's json
type refuses them: they are refused as malformed, like any other text that is not JSON. A request body
is parsed with `storable`: a string that a text column cannot hold is refused too, so that both
databases answer alike and no commit fails in the driver (an indexed one did, with a 500): a lone
surrogate (`"\ud800"`, not Unicode text) and U+0000 (`"\u0000"`, which PostgreSQL's text cannot hold).
"""

from __future__ import annotations

import json

import orjson

_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_TWENTY_DIGITS = b"0" * 20


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"{text} is out of range")
    return value


class UnstorableText(ValueError):
    """JSON whose strings a text column cannot hold (`loads(..., storable=True)`)."""


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def loads(text: bytes, *, storable: bool = False) -> object:
    """Parse JSON; raises `ValueError` (json.JSONDecodeError or UnicodeDecodeError) when it is not JSON,
    and with `storable` `UnstorableText` (a ValueError) when a string holds a lone surrogate or U+0000."""
    value = _parsed(text, storable)
    # Only a body that spells the escape can hold U+0000 (JSON allows no raw control character).
    if storable and b"\\u0000" in text and _holds_nul(value):
        raise UnstorableText("a string holds the character U+0000 (NUL), which a text column cannot hold")
    return value


def _parsed(text: bytes, storable: bool) -> object:
    if text.translate(_DIGITS_AS_ZERO).find(_TWENTY_DIGITS) < 0:
        try:
            return orjson.loads(text)  # which refuses lone surrogates itself
        except orjson.JSONDecodeError:
            pass  # the standard library's message, and its verdict on lone surrogates
    try:
        value = json.loads(text, parse_float=_finite_float, parse_constant=_no_constant)
        if storable:
            json.dumps(value, ensure_ascii=False).encode()
    except UnicodeEncodeError as error:
        lone = error.object[error.start : error.end].encode("unicode_escape").decode()
        raise UnstorableText(f"a string holds the lone surrogate {lone}, which is not Unicode text") from None
    except RecursionError:  # orjson stops at 1,024 levels; the standard library at Python's recursion limit
        raise ValueError("arrays and objects are nested too deep") from None
    return value


def _holds_nul(value: object) -> bool:
    pending = [value]  # a loop, not recursion: the value may be nested as deep as orjson parses
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            if any("\x00" in key for key in node):
                return True
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
        elif isinstance(node, str) and "\x00" in node:
            return True
    return False


def dumps(value: object) -> bytes:
    """Compact UTF-8 JSON, keys in the order given."""
    try:
        return orjson.dumps(value)
    except TypeError:  # integers beyond 64 bits; lone surrogates (escaped, as the standard library does)
        return json.dumps(value, separators=(",", ":")).encode("ascii")
