"""The one request parser of the partner API: JSON, refused when nested beyond reason."""

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class PartnerJSONParser(JSONParser):
    """DRF's JSON parser, answering 400 (not 500) for JSON nested too deeply to decode."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("JSON parse error - nested too deeply.") from exc
