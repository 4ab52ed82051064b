"""The API's orjson renderer writes the bytes DRF's JSONRenderer writes."""

import datetime as dt

from django.utils.translation import gettext_lazy
from hypothesis import given
from hypothesis import strategies as st
from rest_framework.exceptions import ErrorDetail
from rest_framework.renderers import JSONRenderer

from api.renderers import PartnerJSONRenderer

# What API responses hold: no floats (money is a string, quantities integers).
_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.text(), st.text().map(lambda s: ErrorDetail(s, code="invalid")),
    st.dates(), st.times(), st.datetimes(timezones=st.sampled_from([None, dt.UTC])),
    st.decimals(allow_nan=False, allow_infinity=False, places=2),
)
_json = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.tuples(inner, inner),
    st.dictionaries(st.text(max_size=8), inner, max_size=4)), max_leaves=20)


def _both(data, media_type="application/json"):
    return PartnerJSONRenderer().render(data, media_type, {}), JSONRenderer().render(data, media_type, {})


@given(_json)
def test_any_response_data_renders_as_drf_renders_it(data):
    ours, drf = _both(data)
    assert ours == drf


def test_the_cases_orjson_does_not_take_alone_render_as_drf_renders_them():
    cases = [
        {"label": gettext_lazy("Cancel")},                       # lazy translation
        {"line": "ends\u2028here\u2029"},                          # JavaScript line ends
        {"at": dt.datetime(2026, 12, 6, 13, 5, 4, 123456, tzinfo=dt.UTC)},  # DRF's milliseconds, Z
        {"big": 2**70},                                           # beyond 64 bits: DRF's encoder
        {1: "int key"},                                           # a non-string key: DRF's encoder
        None,
    ]
    for data in cases:
        ours, drf = _both(data)
        assert ours == drf, data


def test_an_indented_request_gets_drfs_indented_output():
    ours, drf = _both({"a": [1, 2]}, "application/json; indent=2")
    assert ours == drf and b"\n" in ours
