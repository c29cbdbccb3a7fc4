"""Server-side SVG charts: horizontal bars, readable without JavaScript, on the page and in the PDF alike.

Why server-side SVG and not the State's DSFR Chart components: DSFR Chart is a set of Vue web components
published on npm only; django-dsfr does not ship it, and serving it from static/ would mean vendoring a
JavaScript bundle built elsewhere (a build step) while the PDF, drawn by WeasyPrint, cannot run JavaScript
anyway. One SVG writer serves both media, with two colour sets:

- "page": nothing is hard-coded. Text and legend use `currentColor`, and the stylesheet (static/css/
  charte.css) sets that colour and the bars' fills from DSFR variables (--text-default-grey,
  --background-action-high-blue-france, --text-mention-grey), which the DSFR switches with its light and
  dark themes; every pair reaches 4.5:1 against --background-default-grey in both.
- "print": fixed colours for white paper (the PDF has no theme).

Why the geometry looks like this: the SVG has no viewBox, so it is never scaled down: its text keeps its
14 px on a 390 px phone as on a desktop. Bar lengths are percentages of the drawing's width and the values
sit after their bar (`dx`), so the same markup fits any width. Each label is written above its bar, wrapped
on several lines (never truncated, never anchored to the left edge where it would be cut).

Each chart also carries its data as a table (`Chart.columns` / `Chart.rows`), which the page shows in a
"Voir les données" disclosure, and a title and description for assistive technologies (`role="img"`).
"""

import textwrap
from dataclasses import dataclass, field

from django.utils.html import escape
from django.utils.safestring import mark_safe

from .. import figures

# Print colours (white paper): DSFR bleu France, and the grey of DSFR's "mention" text (5.7:1 on white).
PRINT_TEXT = "#161616"
PRINT_CURRENT = "#000091"
PRINT_PREVIOUS = "#666666"

FONT_SIZE = 14
LINE = 18  # height of one line of label text
BAR_HEIGHT = 16
ITEM_GAP = 14
# About 38 characters of 14 px text fit in the 358 px a 390 px phone leaves to the content.
LABEL_CHARS = 38
# The longest bar takes this share of the width; the rest is left to the value written after it.
BAR_SPACE = 70
PAIRED_BAR_SPACE = 62
LEGEND_HEIGHT = 26


def number(value, percent=False):
    """Written as the registry writes figures (methodology §12): "4 436", "68,5 %", "—"."""
    if percent:
        return figures.format_percent(value)
    return figures.format_number(value)


@dataclass(frozen=True)
class Chart:
    chart_id: str
    title: str
    svg: str
    columns: list = field(default_factory=list)
    rows: list = field(default_factory=list)


class _Palette:
    def __init__(self, medium):
        self.print = medium == "print"

    def text(self):
        return f'fill="{PRINT_TEXT}"' if self.print else 'fill="currentColor"'

    def bar(self, previous=False):
        if self.print:
            return f'fill="{PRINT_PREVIOUS if previous else PRINT_CURRENT}"'
        # currentColor keeps the bar visible in either theme should the stylesheet be missing; the class
        # gives it its DSFR colour.
        kind = "precedente" if previous else "courante"
        return f'fill="currentColor" class="rapport-graphique__barre rapport-graphique__barre--{kind}"'


def wrap(label):
    return textwrap.wrap(str(label), LABEL_CHARS, break_long_words=True) or [""]


def _svg(chart_id, title, desc, height, body, palette):
    return mark_safe(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="rapport-graphique" role="img" width="100%" '
        f'height="{height}" font-size="{FONT_SIZE}" aria-labelledby="{chart_id}-titre" '
        f'aria-describedby="{chart_id}-desc" id="{chart_id}">'
        f'<title id="{chart_id}-titre">{escape(title)}</title><desc id="{chart_id}-desc">{escape(desc)}</desc>'
        f"<g {palette.text()}>{body}</g></svg>"
    )


def _label(y, label, palette):
    """The wrapped label from y down; returns its markup and the y below it."""
    lines = wrap(label)
    tspans = "".join(f'<tspan x="0" y="{y + LINE * (n + 1) - 4}">{escape(line)}</tspan>' for n, line in enumerate(lines))
    return f'<text class="rapport-graphique__libelle">{tspans}</text>', y + LINE * len(lines) + 2


def _bar(y, value, scale_max, space, palette, text, previous=False):
    share = 0 if value is None else space * float(value) / scale_max
    if value is not None and float(value) > 0:
        share = max(share, 0.4)  # a tiny positive value still shows a sliver
    return (
        f'<rect x="0" y="{y}" width="{share:.2f}%" height="{BAR_HEIGHT}" {palette.bar(previous)}/>'
        f'<text x="{share:.2f}%" dx="6" y="{y + BAR_HEIGHT - 3}">{escape(text)}</text>'
    )


# A drawing cannot break across two pages: in the PDF a long chart is drawn as several SVGs of at most this
# many lines (each well under an A4 page even with three-line labels), which the pages share.
PRINT_ITEMS_PER_DRAWING = 10


def _scale(values):
    return max([float(v) for v in values if v is not None] + [0]) or 1


def _bar_drawing(chart_id, title, items, percent, palette, scale_max):
    parts, y = [], 0
    for label, value in items:
        markup, y = _label(y, label, palette)
        parts.append(markup)
        parts.append(_bar(y, value, scale_max, BAR_SPACE, palette, number(value, percent)))
        y += BAR_HEIGHT + ITEM_GAP
    if not items:
        parts.append(f'<text x="0" y="{LINE}">Aucune donnée pour ce graphique.</text>')
        y = LINE + ITEM_GAP
    desc = "; ".join(f"{label} : {number(value, percent)}" for label, value in items) or "Aucune donnée."
    return _svg(chart_id, title, desc, y, "".join(parts), palette)


def bar_chart(chart_id, title, items, percent=False, medium="page", label_header="Libellé", value_header="Valeur"):
    """items: (label, value); an empty value is drawn as no bar and written "—"."""
    palette = _Palette(medium)
    items = list(items)
    # One scale for every part, so that bars compare across pages.
    scale_max = _scale(v for _, v in items)
    if medium == "print" and len(items) > PRINT_ITEMS_PER_DRAWING:
        chunks = [items[n : n + PRINT_ITEMS_PER_DRAWING] for n in range(0, len(items), PRINT_ITEMS_PER_DRAWING)]
        svg = mark_safe(
            "".join(
                _bar_drawing(
                    f"{chart_id}-{n}",
                    f"{title} ({n}/{len(chunks)})",
                    chunk,
                    percent,
                    palette,
                    scale_max,
                )
                for n, chunk in enumerate(chunks, start=1)
            )
        )
    else:
        svg = _bar_drawing(chart_id, title, items, percent, palette, scale_max)
    return Chart(
        chart_id,
        title,
        svg,
        [label_header, value_header],
        [(label, number(value, percent)) for label, value in items],
    )


def paired_bar_chart(chart_id, title, items, current_label, previous_label, medium="page", label_header="Libellé"):
    """items: (label, current, previous): two bars per line, year N then N-1, each with its year written."""
    palette = _Palette(medium)
    items = list(items)
    scale_max = _scale(v for _, c, p in items for v in (c, p))
    parts = [
        f'<rect x="0" y="4" width="14" height="14" {palette.bar()}/>'
        f'<text x="20" y="16">{escape(current_label)}</text>'
        f'<rect x="90" y="4" width="14" height="14" {palette.bar(previous=True)}/>'
        f'<text x="110" y="16">{escape(previous_label)}</text>'
    ]
    y = LEGEND_HEIGHT
    for label, current, previous in items:
        markup, y = _label(y, label, palette)
        parts.append(markup)
        parts.append(_bar(y, current, scale_max, PAIRED_BAR_SPACE, palette, f"{current_label} : {number(current)}"))
        y += BAR_HEIGHT + 2
        parts.append(_bar(y, previous, scale_max, PAIRED_BAR_SPACE, palette, f"{previous_label} : {number(previous)}", True))
        y += BAR_HEIGHT + ITEM_GAP
    desc = (
        "; ".join(
            f"{label} : {current_label} {number(current)}, {previous_label} {number(previous)}"
            for label, current, previous in items
        )
        or "Aucune donnée."
    )
    return Chart(
        chart_id,
        title,
        _svg(chart_id, title, desc, y, "".join(parts), palette),
        [label_header, current_label, previous_label],
        [(label, number(current), number(previous)) for label, current, previous in items],
    )


def report_charts(report, medium="page"):
    """The four charts of a report: families, N vs N-1, attainment by indicator, QPV reached.

    medium: "page" (theme-aware colours from the stylesheet) or "print" (the PDF's fixed colours)."""
    families = [(block.family.short_label or block.family.label, block.total) for block in report.families]
    year, prev = str(report.year), str(report.year - 1)
    attainment = [
        (f"{row.indicator.label} ({block.family.short_label or block.family.code})", row.attainment_rate)
        for block in report.families
        for row in block.indicators
        if row.attainment_rate is not None
    ]
    return [
        bar_chart(
            "graphique-familles",
            f"Actions par famille en {year}",
            [(label, t and t.actions_count) for label, t in families],
            medium=medium,
            label_header="Famille",
            value_header="Actions",
        ),
        paired_bar_chart(
            "graphique-evolution",
            f"Bénéficiaires par famille, {year} et {prev}",
            [(label, t and t.beneficiaries, t and t.prev_beneficiaries) for label, t in families],
            year,
            prev,
            medium=medium,
            label_header="Famille",
        ),
        bar_chart(
            "graphique-atteinte",
            f"Taux d'atteinte (validé / objectif) par indicateur en {year}",
            attainment,
            percent=True,
            medium=medium,
            label_header="Indicateur (famille)",
            value_header="Taux d'atteinte",
        ),
        bar_chart(
            "graphique-qpv",
            f"Part des bénéficiaires résidant en QPV par famille en {year}",
            [(label, t and t.qpv_share) for label, t in families],
            percent=True,
            medium=medium,
            label_header="Famille",
            value_header="Part résidant en QPV",
        ),
    ]
