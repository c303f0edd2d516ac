"""Name folding for search: case- and accent-insensitive the way Swedish users expect.

Swedish users type "akesson" and expect "Åkesson", "ostlund" and expect "Östlund", "angstrom"
and expect "Ångström". Folding happens once, at write time, into indexed token columns; a
query is folded the same way and matched as a prefix of a token. Both sides are folded, so
"Åke" also finds "Ake": the search is forgiving, ranking is left to the user.
"""

from __future__ import annotations

import re
import unicodedata

# Letters that Unicode does not decompose into a base letter plus a combining mark.
_SPECIAL = str.maketrans({"ø": "o", "æ": "ae", "ß": "ss", "đ": "d", "ð": "d", "ł": "l", "þ": "th", "œ": "oe"})
_SEPARATORS = re.compile(r"[^0-9a-z]+")


def fold(text: str) -> str:
    """Lower case without diacritics: 'Åkesson-Östlund' -> 'akesson-ostlund'."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_SPECIAL))
    return "".join(char for char in decomposed if not unicodedata.combining(char)).translate(_SPECIAL)


def tokens(text: str) -> list[str]:
    """The folded words of a name: 'af Klint-Åkesson' -> ['af', 'klint', 'akesson']."""
    return [token for token in _SEPARATORS.split(fold(text)) if token]


def prefix_upper_bound(prefix: str) -> str:
    """The smallest string greater than every string starting with `prefix` (tokens are [0-9a-z]).

    `token >= prefix AND token < upper` is a range scan on a plain B-tree index on SQLite and on
    PostgreSQL, whatever the database collation, where LIKE 'x%' would need special operators.
    """
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)
