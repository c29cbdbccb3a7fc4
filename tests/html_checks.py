"""Reading a rendered page as a browser would for the form-error checks: the elements by id, the links of
the error summary, what comes first in <main>. Standard library only (html.parser)."""

from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.by_id = {}
        self.forms = []
        self.main_first = None  # (tag, attrs) of the first element inside <main>
        self._in_main = False
        self._stack = []  # [tag, attrs, text parts]
        self.text_by_id = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if self._in_main and self.main_first is None:
            self.main_first = (tag, attrs)
        if tag == "main":
            self._in_main = True
        if tag == "form":
            self.forms.append(attrs)
        if "id" in attrs:
            self.by_id[attrs["id"]] = (tag, attrs)
        if tag not in VOID:
            self._stack.append([tag, attrs, []])

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        while self._stack:
            open_tag, attrs, parts = self._stack.pop()
            text = "".join(parts)
            if "id" in attrs:
                self.text_by_id[attrs["id"]] = " ".join(text.split())
            if self._stack:
                self._stack[-1][2].append(text)
            if open_tag == tag:
                break
        if tag == "main":
            self._in_main = False

    def handle_data(self, data):
        if self._stack:
            self._stack[-1][2].append(data)


def parse(html):
    page = _Page()
    page.feed(html)
    page.close()
    return page


def summary_links(html):
    """[(href, text)] of the links inside the error summary (#form-errors)."""
    start = html.index('id="form-errors"')
    end = html.index("</div>", start)
    links = []

    class Links(HTMLParser):
        href = None

        def handle_starttag(self, tag, attrs):
            if tag == "a":
                self.href = dict(attrs)["href"]
                self.parts = []

        def handle_data(self, data):
            if self.href is not None:
                self.parts.append(data)

        def handle_endtag(self, tag):
            if tag == "a" and self.href is not None:
                links.append((self.href, " ".join("".join(self.parts).split())))
                self.href = None

    Links(convert_charrefs=True).feed(html[start:end])
    return links


def assert_error_pattern(html, expected_fields):
    """The DSFR error pattern on a rendered page: the summary is the first thing in <main> and takes the
    focus (tabindex -1, data-focus-on-load), it links every expected field, and each linked field exists,
    carries aria-invalid="true" and is described by an element that holds its error message (a group of
    checkboxes: its fieldset is marked in error and named by its legend and its message)."""
    page = parse(html)
    assert page.main_first is not None and page.main_first[1].get("id") == "form-errors", page.main_first
    summary = page.by_id["form-errors"][1]
    assert summary.get("tabindex") == "-1" and "data-focus-on-load" in summary
    links = summary_links(html)
    targets = [href.removeprefix("#") for href, _ in links]
    for field_id in expected_fields:
        assert field_id in targets, (field_id, links)
    for href, text in links:
        tag, attrs = page.by_id[href.removeprefix("#")]
        assert tag in {"input", "select", "textarea", "fieldset"}, (href, tag)
        if tag == "fieldset":
            # A group of checkboxes (charte.web.Checklist): its name includes its error message.
            described = attrs.get("aria-labelledby", "").split()
            assert "fr-fieldset--error" in attrs.get("class", ""), (href, attrs)
        else:
            assert attrs.get("aria-invalid") == "true", (href, attrs)
            described = attrs.get("aria-describedby", "").split()
        messages = " ".join(page.text_by_id.get(ident, "") for ident in described)
        message = text.split(" : ", 1)[-1]
        assert message in messages, (href, message, messages)
    return links
