"""Rule-bound steps of publishing a blog article: SEO metadata and the publishing slug."""

from __future__ import annotations

import re
import unicodedata

from bot.automations.context import AutomationContext, AutomationError

META_DESCRIPTION_LIMIT = 160


def slugify(title: str) -> str:
    """`Hello, Wörld!` -> `hello-world`: ASCII, lower case, words joined by hyphens."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_title.lower())
    return "-".join(words)[:80].strip("-")


def meta_description(angle: str, keywords: list[str]) -> str:
    """The first sentence of the angle, with the first keyword if missing, cut at a word."""
    sentence = re.split(r"(?<=[.!?])\s+", angle.strip(), maxsplit=1)[0]
    if keywords and keywords[0].lower() not in sentence.lower():
        sentence = f"{keywords[0].capitalize()}: {sentence}"
    if len(sentence) <= META_DESCRIPTION_LIMIT:
        return sentence
    cut = sentence[: META_DESCRIPTION_LIMIT - 1].rsplit(" ", 1)[0]
    return cut + "…"


def add_seo_metadata(ctx: AutomationContext) -> dict[str, object]:
    """Outputs `slug`, `meta_description` and `keywords` for the CMS."""
    title = str(ctx.params.get("title", "")).strip()
    if not title:
        raise AutomationError("the article has no title", retryable=False)
    raw_keywords = ctx.params.get("keywords") or []
    if isinstance(raw_keywords, str):
        raw_keywords = raw_keywords.split(",")
    keywords = [k.strip().lower() for k in raw_keywords if k.strip()]
    slug = slugify(title)
    if not slug:
        raise AutomationError(f"cannot make a URL slug from the title {title!r}", retryable=False)
    angle = str(ctx.params.get("angle", title))
    return {"slug": slug, "meta_description": meta_description(angle, keywords), "keywords": keywords}
