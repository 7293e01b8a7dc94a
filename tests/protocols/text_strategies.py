"""Hypothesis strategies for message text, shared by the text, concatenation and codec tests."""

from hypothesis import strategies as st

GSM7_ALPHABET = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
    "\f^{}\\[~]|€"
)


def texts(
    alphabet: st.SearchStrategy[str] | str | None = None, max_size: int = 800
) -> st.SearchStrategy[str]:
    """Texts whose length is drawn uniformly, so multi-segment lengths come up as often as short ones."""
    chars = st.characters(exclude_categories=["Cs"]) if alphabet is None else alphabet
    return st.integers(0, max_size).flatmap(lambda n: st.text(alphabet=chars, min_size=n, max_size=n))


gsm7_text = texts(GSM7_ALPHABET)
