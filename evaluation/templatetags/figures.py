"""Template filters that write the figures of a report from the registry (`evaluation.figures`).

`{{ row|figure:"actions" }}` writes the N figure of an `AnnualResult` in French ("4 436", "68,5 %", "—"),
`{{ row|figure_n1:"actions" }}` its N-1 twin; `{{ column|cell:row }}` a column of `report_table_columns`;
`{% figure_link "taux_atteinte" %}` the label linked to its definition in the methodology. Templates never
format a number themselves: the page, the PDF and the exports then say the same thing.
"""

from django import template
from django.utils.html import format_html

from evaluation import figures as registry
from evaluation.reports import compare
from evaluation.reports.reports import run_state_label

register = template.Library()


@register.filter
def figure(row, code):
    return registry.get(code).display(row)


@register.filter
def figure_n1(row, code):
    return registry.get(code).display(row, previous=True)


@register.filter
def cell(column, row):
    return column.display(row)


@register.simple_tag
def figure_link(code, base=""):
    """The label of a figure linked to its definition; `base` makes the link absolute (the PDF)."""
    item = registry.get(code)
    return format_html('<a href="{}{}">{}</a>', base, item.url, item.label)


@register.simple_tag
def key_figures():
    return registry.KEY_FIGURES


@register.simple_tag
def table_columns():
    return registry.report_table_columns()


@register.simple_tag
def survey_columns():
    return registry.survey_table_columns()


@register.filter
def compare_number(value):
    """A value of the comparison between départements (a ratio): two decimals at most, "—" for none."""
    return compare.fmt(value)


@register.filter
def run_description(run):
    return registry.describe_run(run)


@register.simple_tag
def methodology_url(base=""):
    return base + registry.METHODOLOGY_URL


@register.filter
def heading(column, year):
    return column.heading(int(year))


@register.filter
def run_state(run):
    """« en attente de démarrage », « en cours »…: the same words as the JSON progress the page polls."""
    return run_state_label(run)
