"""JSON only: the API reads and writes nothing else. Its own module, because DRF imports the parser classes
while it defines its views (importing the viewsets' module from here would be circular)."""

from rest_framework import exceptions, parsers


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            # A deeply nested document is refused like a malformed one, not with a 500.
            raise exceptions.ParseError() from exc
