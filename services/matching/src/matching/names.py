"""Names as matching compares them: accents, case, spacing and punctuation do not count."""

import re
import unicodedata

import jellyfish

_NOT_LETTERS = re.compile(r"[^a-z]+")


def _ascii_folded(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(char for char in decomposed if not unicodedata.combining(char)).casefold()


def name_tokens(name: str | None) -> list[str]:
    """The parts of a name: ``"García-López"`` and ``"garcia lopez"`` both give garcia, lopez."""
    if not name:
        return []
    return [token for token in _NOT_LETTERS.split(_ascii_folded(name)) if token]


def name_key(name: str | None) -> str | None:
    """The name as compared: letters only, no accents, lower case (``"garcialopez"``)."""
    key = "".join(name_tokens(name))
    return key or None


def phonetic_code(key: str | None) -> str | None:
    """The NYSIIS code of a name key, one of the blocking keys."""
    return jellyfish.nysiis(key) if key else None
