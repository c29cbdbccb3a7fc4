"""The methodology of the figures (`docs/methodologie.md`) served as a public page, /methodologie/.

The document is the specification the préfet signs off; the page is that same file rendered, never a copy
that could drift. Every figure code written `[`code`]` in it becomes an anchor (`/methodologie/#actions`),
which the reports, the exports and the API link to (`evaluation.figures.Figure.url`); every heading gets an
anchor made of its title without its number nor its parenthesised precision ("13. Secret statistique
(données ouvertes…)" -> `#secret-statistique`). Rendered once per version of the file.
"""

import re
from functools import lru_cache
from pathlib import Path

import markdown
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.shortcuts import render
from django.utils.safestring import mark_safe
from django.utils.text import slugify

SOURCE = Path(settings.BASE_DIR) / "docs" / "methodologie.md"

# A figure code as markdown renders `[`code`]`: the brackets stay, the code is in <code>.
CODE_MARK = re.compile(r"\[<code>([a-z][a-z0-9_]*)</code>\]")
SECTION_NUMBER = re.compile(r"^\s*\d+(\.\d+)*\.?\s+")


def heading_slug(text, separator="-"):
    """ "13. Secret statistique (données ouvertes et pages publiques)" -> "secret-statistique"."""
    text = SECTION_NUMBER.sub("", text).split(" (")[0]
    return slugify(text).replace("-", separator) or "section"


def _anchor_codes(html):
    """The first `[`code`]` of each code is its definition: it gets the id; later mentions link to it."""
    seen = set()

    def replace(match):
        code = match.group(1)
        if code in seen:
            return f'<a href="#{code}"><code>{code}</code></a>'
        seen.add(code)
        return f'<code id="{code}" class="definition-chiffre">{code}</code>'

    return CODE_MARK.sub(replace, html)


@lru_cache(maxsize=4)
def _render(path, mtime_ns):
    converter = markdown.Markdown(
        extensions=["tables", "toc", "sane_lists"],
        extension_configs={"toc": {"slugify": heading_slug}},
    )
    html = converter.convert(Path(path).read_text(encoding="utf-8"))
    html = _anchor_codes(html)
    # DSFR tables: the wrapper gives them their style and their horizontal scroll on small screens.
    html = html.replace("<table>", '<div class="fr-table"><table>').replace("</table>", "</table></div>")
    sections = [(token["id"], token["name"]) for top in converter.toc_tokens for token in top["children"]]
    title = converter.toc_tokens[0]["name"] if converter.toc_tokens else "Méthodologie"
    return title, html, sections


def render_methodology(path=SOURCE):
    """(title, HTML body, [(anchor, heading) of the sections])."""
    path = Path(path)
    title, html, sections = _render(str(path), path.stat().st_mtime_ns)
    return title, mark_safe(html), sections


@login_not_required
def page(request):
    title, body, sections = render_methodology()
    return render(request, "rapports/methodologie.html", {"title": title, "body": body, "sections": sections})
