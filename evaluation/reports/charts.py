"""Server-side SVG charts: horizontal bars, readable without JavaScript, in the page and in the PDF alike.

Each chart carries its title and a text description listing every value (`role="img"`, `<title>`, `<desc>`),
and the values are also written next to the bars: colour is never the only carrier of information.
"""

from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import mark_safe

from .. import figures

BLUE = "#000091"  # DSFR bleu France
GREY = "#929292"
WIDTH = 640
LABEL_WIDTH = 220
VALUE_WIDTH = 90
BAR_HEIGHT = 18
GAP = 10


def number(value, percent=False):
    """Written as the registry writes figures (methodology §12): "4 436", "68,5 %", "—"."""
    if percent:
        return figures.format_percent(value)
    return figures.format_number(value)


@dataclass(frozen=True)
class Chart:
    title: str
    svg: str


def _svg(chart_id, title, desc, height, body):
    return Chart(
        title,
        mark_safe(
            f'<svg xmlns="http://www.w3.org/2000/svg" class="rapport-graphique" role="img" width="100%" '
            f'viewBox="0 0 {WIDTH} {height}" aria-labelledby="{chart_id}-titre {chart_id}-desc">'
            f'<title id="{chart_id}-titre">{escape(title)}</title><desc id="{chart_id}-desc">{escape(desc)}</desc>'
            f"{body}</svg>"
        ),
    )


def _label(y, text):
    short = text if len(text) <= 34 else text[:33] + "…"
    return (
        f'<text x="{LABEL_WIDTH - 8}" y="{y + BAR_HEIGHT - 5}" text-anchor="end" font-size="12" fill="#161616">'
        f"{escape(short)}</text>"
    )


def bar_chart(chart_id, title, items, percent=False):
    """items: (label, value); empty values are drawn as no bar and written "—"."""
    items = list(items)
    scale_max = max([float(v) for _, v in items if v is not None] + [0]) or 1
    bar_space = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    parts = []
    for n, (label, value) in enumerate(items):
        y = GAP + n * (BAR_HEIGHT + GAP)
        length = 0 if value is None else max(1, bar_space * float(value) / scale_max)
        parts.append(_label(y, label))
        parts.append(f'<rect x="{LABEL_WIDTH}" y="{y}" width="{length:.1f}" height="{BAR_HEIGHT}" fill="{BLUE}"/>')
        parts.append(
            f'<text x="{LABEL_WIDTH + length + 6:.1f}" y="{y + BAR_HEIGHT - 5}" font-size="12" fill="#161616">'
            f"{escape(number(value, percent))}</text>"
        )
    desc = "; ".join(f"{label} : {number(value, percent)}" for label, value in items) or "Aucune donnée."
    if not items:
        parts.append(f'<text x="0" y="{GAP + BAR_HEIGHT - 5}" font-size="12">Aucune donnée pour ce graphique.</text>')
    height = GAP + max(len(items), 1) * (BAR_HEIGHT + GAP)
    return _svg(chart_id, title, desc, height, "".join(parts))


def paired_bar_chart(chart_id, title, items, current_label, previous_label):
    """items: (label, current, previous): two bars per line, the year N in blue, N-1 in grey, both labelled."""
    items = list(items)
    values = [float(v) for _, c, p in items for v in (c, p) if v is not None]
    scale_max = max(values + [0]) or 1
    bar_space = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    line = 2 * BAR_HEIGHT + GAP
    parts = [
        f'<rect x="{LABEL_WIDTH}" y="4" width="12" height="12" fill="{BLUE}"/>'
        f'<text x="{LABEL_WIDTH + 18}" y="14" font-size="12">{escape(current_label)}</text>'
        f'<rect x="{LABEL_WIDTH + 120}" y="4" width="12" height="12" fill="{GREY}"/>'
        f'<text x="{LABEL_WIDTH + 138}" y="14" font-size="12">{escape(previous_label)}</text>'
    ]
    for n, (label, current, previous) in enumerate(items):
        y = 26 + n * line
        parts.append(_label(y + BAR_HEIGHT // 2, label))
        for offset, value, colour, name in ((0, current, BLUE, current_label), (BAR_HEIGHT, previous, GREY, previous_label)):
            length = 0 if value is None else max(1, bar_space * float(value) / scale_max)
            parts.append(
                f'<rect x="{LABEL_WIDTH}" y="{y + offset}" width="{length:.1f}" height="{BAR_HEIGHT - 2}" fill="{colour}"/>'
            )
            parts.append(
                f'<text x="{LABEL_WIDTH + length + 6:.1f}" y="{y + offset + BAR_HEIGHT - 6}" font-size="11" fill="#161616">'
                f"{escape(name)} : {escape(number(value))}</text>"
            )
    desc = (
        "; ".join(
            f"{label} : {current_label} {number(current)}, {previous_label} {number(previous)}"
            for label, current, previous in items
        )
        or "Aucune donnée."
    )
    height = 26 + max(len(items), 1) * line
    return _svg(chart_id, title, desc, height, "".join(parts))


def report_charts(report):
    """The four charts of a report: families, N vs N-1, attainment by indicator, QPV reached."""
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
            "graphique-familles", f"Actions par famille en {year}", [(label, t and t.actions_count) for label, t in families]
        ),
        paired_bar_chart(
            "graphique-evolution",
            f"Bénéficiaires par famille, {year} et {prev}",
            [(label, t and t.beneficiaries, t and t.prev_beneficiaries) for label, t in families],
            year,
            prev,
        ),
        bar_chart(
            "graphique-atteinte", f"Taux d'atteinte (validé / objectif) par indicateur en {year}", attainment, percent=True
        ),
        bar_chart(
            "graphique-qpv",
            f"Part des bénéficiaires résidant en QPV par famille en {year}",
            [(label, t and t.qpv_share) for label, t in families],
            percent=True,
        ),
    ]
