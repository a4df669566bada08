"""The API's JSON, written by orjson: DRF's own renderer spends more on a page of rows than
Postgres does building it. A representation may hold `orjson.Fragment`s, JSON that is sent
on as written (rows Postgres rendered, say: apps.datasets.rendered_rows), never parsed in
between.

The bytes are DRF's, but for floats written shortest (`1e16` where DRF writes `1e+16`) and
indentation, which is two spaces whatever width a client asks for."""

from __future__ import annotations

import json

import orjson
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.encoders import JSONEncoder

# Datetimes, which orjson would write its own way, go to DRF's encoder (as does anything
# orjson does not know); keys that are not strings are written as strings, as json does.
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS


class _Encoder(JSONEncoder):
    """DRF's encoder, for the rare representation orjson refuses (an integer past 64 bits in
    a row's metadata, say), fragments included."""

    def default(self, obj):
        if isinstance(obj, orjson.Fragment):
            return json.loads(orjson.dumps(obj))
        return super().default(obj)


_ENCODER = JSONEncoder()


class JsonRenderer(JSONRenderer):
    encoder_class = _Encoder

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        indent = self.get_indent(accepted_media_type, renderer_context or {})
        options = _OPTIONS | orjson.OPT_INDENT_2 if indent else _OPTIONS
        try:
            written = orjson.dumps(data, default=_ENCODER.default, option=options)
        except orjson.JSONEncodeError:
            return super().render(data, accepted_media_type, renderer_context)
        if b"\xe2\x80" in written:  # U+2028 and U+2029 escaped, as DRF does: a JS subset
            written = written.replace("\u2028".encode(), b"\\u2028")
            written = written.replace("\u2029".encode(), b"\\u2029")
        return written
