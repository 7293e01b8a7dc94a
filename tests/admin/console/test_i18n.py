"""English and Chinese from one catalogue: every key the console uses exists in both languages, the
browser's language picks one, and the switch keeps the choice."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import pytest

from smsplatform.admin import review
from smsplatform.admin.actors import Role, Via
from smsplatform.admin.console import i18n, site
from smsplatform.domain.numbers import Carrier
from smsplatform.domain.templates import TemplateKind
from smsplatform.store.accounts import AccountStatus
from smsplatform.store.search import MESSAGE_STATES

CONSOLE = Path(site.__file__).parent
TEMPLATES = resources.files("smsplatform.admin").joinpath("templates")

# Keys a template builds from a prefix and a value: every value it can meet.
DYNAMIC = {
    "role.": [r.value for r in Role],
    "via.": [v.value for v in Via],
    "lang.": list(i18n.LANGUAGES),
    "status.": [s.name.lower() for s in AccountStatus],
    "kind.": [k.value for k in TemplateKind],
    "carrier.": [c.value for c in Carrier],
    "state.": list(MESSAGE_STATES),
    "finding.": [
        review.SENSITIVE_WORD,
        review.SIGNATURE_FORMAT,
        review.TEMPLATE_RULE,
        review.ACCOUNT_NOT_APPROVED,
        review.CUSTOMER_DISABLED,
        review.CUSTOMER_EXPIRED,
    ],
    "field.": ["company", "signature", "content", "account", "customer"],
    "event.": [
        "accepted",
        "submit_failed",
        "submitted",
        "report",
        "finished",
        "callback_failed",
        "callback_done",
        "callback_dead",
        "callback_waiting",
    ],
    "outcome.": ["retry", "failed", "maybe_sent"],
    "callback.state.": ["pending", "done", "dead"],
    "source.": ["default", "environment", "configured"],
    "dashboard.window_": ["1h", "24h", "30d"],
    "callbacks.kind_": ["report", "reply"],
    "dashboard.": ["carrier", "connector", "accepted", "submitted", "delivered", "failed"],
    "link.": ["bound", "connecting", "backoff", "stopping", "stopped", "not_running"],
}


def template_sources() -> dict[str, str]:
    found = {}

    def walk(folder: object, prefix: str) -> None:
        for entry in folder.iterdir():  # type: ignore[attr-defined]
            if entry.is_dir():
                walk(entry, f"{prefix}{entry.name}/")
            elif entry.name.endswith(".html"):
                found[prefix + entry.name] = entry.read_text(encoding="utf-8")

    walk(TEMPLATES, "")
    return found


def python_sources() -> dict[str, str]:
    return {str(p.relative_to(CONSOLE)): p.read_text(encoding="utf-8") for p in CONSOLE.rglob("*.py")}


def used_keys() -> set[str]:
    keys: set[str] = set()
    for text in template_sources().values():
        keys.update(re.findall(r"""_\(\s*["']([a-z0-9_.]+)["']""", text))
        for prefix in re.findall(r"""_\(\s*["']([a-z0-9_.]+[._])["']\s*~""", text):
            assert prefix in DYNAMIC, f"a key built from {prefix!r}: list its values in DYNAMIC"
            keys.update(prefix + value for value in DYNAMIC[prefix])
    for text in python_sources().values():
        keys.update(re.findall(r"""tr\(\s*request,\s*["']([a-z0-9_.]+)["']""", text))
        keys.update(
            re.findall(r"""["']((?:nav|error|kind|state|status|finding|event)\.[a-z0-9_]+)["']""", text)
        )
    return {key for key in keys if not key.endswith((".", "_", ".html"))}


def test_every_key_in_use_is_in_the_catalogue_in_both_languages() -> None:
    catalogue = i18n.catalogue()
    used = used_keys()
    assert len(used) > 20
    missing = sorted(used - set(catalogue.texts))
    assert not missing, f"not in admin/locale/{i18n.CATALOGUE_FILE}: {missing}"
    for key in used:
        texts = catalogue.texts[key]
        assert all(texts[lang].strip() for lang in i18n.LANGUAGES), key


def test_a_malformed_catalogue_is_refused() -> None:
    with pytest.raises(i18n.CatalogueError):
        i18n.Catalogue.parse({"a": {"en": "A"}})
    with pytest.raises(i18n.CatalogueError):
        i18n.Catalogue.parse({"a": {"en": "{n} items", "zh": "{count} 条"}})


def test_values_are_filled_in_and_an_unknown_key_shows_itself() -> None:
    catalogue = i18n.Catalogue.parse({"n": {"en": "{n} items", "zh": "{n} 条"}})
    assert catalogue.translator("zh")("n", n=3) == "3 条"
    assert catalogue.translator("en")("missing.key") == "missing.key"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh"),
        ("en-US,en;q=0.9,zh-CN;q=0.8", "en"),
        ("fr-FR,fr;q=0.9,zh-TW;q=0.5", "zh"),
        ("de", "en"),
        ("", "en"),
        ("en;q=0.2, zh;q=0.7", "zh"),
        ("zh;q=0", "en"),
        ("zh;q=oops, en", "en"),
    ],
)
def test_the_browser_language_chooses(header: str, expected: str) -> None:
    assert i18n.from_accept_language(header) == expected


def test_the_switch_wins_over_the_browser() -> None:
    assert i18n.choose("en", "zh-CN") == "en"
    assert i18n.choose("zh", "en-US") == "zh"
    assert i18n.choose("xx", "zh-CN") == "zh"
