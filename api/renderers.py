"""The one response renderer of the partner API: DRF's JSON, encoded by orjson.

A page of 100 orders is about 100 kB of JSON; the standard library's encoder took about a
millisecond of it, orjson a tenth of that. The bytes are DRF's JSONRenderer's: compact,
UTF-8, U+2028/U+2029 escaped, and every value orjson does not encode natively (dates and
times, decimals, lazy translations) goes through DRF's own encoder. Anything orjson refuses
(integers beyond 64 bits, keys that are not strings) and indented output fall back to DRF.
"""

import orjson
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.encoders import JSONEncoder

_DRF_ENCODER = JSONEncoder()
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME  # dates and times as DRF formats them


class PartnerJSONRenderer(JSONRenderer):
    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        if self.get_indent(accepted_media_type, renderer_context or {}) is not None:
            return super().render(data, accepted_media_type, renderer_context)
        try:
            body = orjson.dumps(data, default=_DRF_ENCODER.default, option=_OPTIONS)
        except TypeError:
            return super().render(data, accepted_media_type, renderer_context)
        # As DRF does: these two are valid JSON but end a line in JavaScript.
        return body.replace(b"\xe2\x80\xa8", b"\\u2028").replace(b"\xe2\x80\xa9", b"\\u2029")
