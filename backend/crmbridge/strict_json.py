"""Reading request JSON so that no body, however odd, reaches the app as something it cannot store or walk.

Python's parser accepts what no field of ours may hold: nesting deep enough to exhaust the stack (a 500 from a
``RecursionError``), lone surrogates such as ``"\\ud800"`` (which no database can encode) and NUL characters
(which PostgreSQL refuses in text). They are refused here, for every body, as a 400 that names where they were.
"""

import json
from typing import Any

from flask.json.provider import DefaultJSONProvider

from .errors import ApiError

MAX_DEPTH = 32


class JsonRefused(ApiError):
    status = 400


def has_unstorable_text(text: str) -> bool:
    """A NUL character or a lone surrogate (UTF-16 halves that are not characters)."""
    return "\x00" in text or any("\ud800" <= ch <= "\udfff" for ch in text)


UNSTORABLE_MESSAGE = "Text may not contain NUL characters or lone surrogates (such as \\ud800)."


def loads(text: str | bytes) -> Any:
    """``json.loads`` that refuses too deep nesting and unstorable text with a 400 in the error shape."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise _too_deep() from None
    _check(value)
    return value


def _too_deep() -> JsonRefused:
    return JsonRefused(f"The JSON is nested more than {MAX_DEPTH} levels deep.", {"_json": ["Nested too deeply."]})


def _check(value: Any) -> None:
    # Iterative, so that checking a deep document cannot itself run out of stack.
    pending: list[tuple[Any, str, int]] = [(value, "", 0)]
    while pending:
        item, path, depth = pending.pop()
        if depth > MAX_DEPTH:
            raise _too_deep()
        if isinstance(item, str):
            if has_unstorable_text(item):
                raise JsonRefused(UNSTORABLE_MESSAGE, {path or "_json": [UNSTORABLE_MESSAGE]})
        elif isinstance(item, dict):
            for key, child in item.items():
                child_path = f"{path}.{key}" if path else key
                if has_unstorable_text(key):
                    raise JsonRefused(UNSTORABLE_MESSAGE, {"_json": [UNSTORABLE_MESSAGE]})
                pending.append((child, child_path, depth + 1))
        elif isinstance(item, list):
            pending.extend((child, f"{path}.{index}" if path else str(index), depth + 1)
                           for index, child in enumerate(item))


class StrictJSONProvider(DefaultJSONProvider):
    """Flask's JSON provider for ``request.get_json``, reading through ``loads`` above."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return loads(s)
