"""The console's words in English and Chinese, from one catalogue, and the choice between them.

`admin/locale/console.toml` maps each key to its two texts (`"nav.dashboard" = { en = "…", zh = "…" }`);
a text may name values in braces (`{count}`), filled in by the caller. The language comes from the
`lang` cookie that the switch sets, else from the browser's `Accept-Language`, else English.
"""

from __future__ import annotations

import string
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

LANGUAGES = ("en", "zh")
DEFAULT = "en"
COOKIE = "lang"
CATALOGUE_FILE = "console.toml"

Translate = Callable[..., str]


class CatalogueError(ValueError):
    """The catalogue file is malformed: a key without both languages, or with differing placeholders."""


def placeholders(text: str) -> frozenset[str]:
    return frozenset(name for _, name, _, _ in string.Formatter().parse(text) if name)


@dataclass(frozen=True)
class Catalogue:
    texts: Mapping[str, Mapping[str, str]]

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> Catalogue:
        texts: dict[str, dict[str, str]] = {}
        for key, entry in raw.items():
            if not isinstance(entry, Mapping) or set(entry) != set(LANGUAGES):
                raise CatalogueError(f"{key}: needs exactly {', '.join(LANGUAGES)}")
            if not all(isinstance(entry[lang], str) for lang in LANGUAGES):
                raise CatalogueError(f"{key}: every text is a string")
            if len({placeholders(entry[lang]) for lang in LANGUAGES}) != 1:
                raise CatalogueError(f"{key}: the languages name different values")
            texts[key] = {lang: entry[lang] for lang in LANGUAGES}
        return cls(texts)

    def translator(self, lang: str) -> Translate:
        def translate(key: str, **values: Any) -> str:
            entry = self.texts.get(key)
            if entry is None:
                return key  # visible on the page, and caught by the catalogue test
            text = entry[lang]
            return text.format(**values) if values else text

        return translate


@cache
def catalogue() -> Catalogue:
    data = resources.files("smsplatform.admin").joinpath("locale", CATALOGUE_FILE).read_bytes()
    return Catalogue.parse(tomllib.loads(data.decode("utf-8")))


def from_accept_language(header: str) -> str:
    """The first of our languages the browser accepts, by its q-values; English when none is."""
    best, best_q = DEFAULT, 0.0
    for part in header.split(","):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                continue
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and q > best_q:
            best, best_q = primary, q  # equal q: the earlier one stays
    return best


def choose(cookie: str | None, accept_language: str | None) -> str:
    if cookie in LANGUAGES:
        return cookie
    return from_accept_language(accept_language or "")
