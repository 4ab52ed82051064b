"""A full run's bulk read (server-side cursor, raw rows on PostgreSQL) sees exactly what the
few-pool read of intake and dirty pools sees."""

import pytest
from django.utils import timezone

from promises.selectors import pools_load

pytestmark = pytest.mark.django_db


def test_the_bulk_read_equals_the_per_pool_read(seeded):
    today = timezone.localdate()
    everything = pools_load(today=today)
    busy = sorted((key for key, state in everything.items() if state.lines),
                  key=lambda key: -len(everything[key].lines))[:40]
    assert busy and sum(len(everything[key].lines) for key in busy) > 50
    assert len({wh for _, wh in busy}) > 1  # pools of several warehouses: the read is cut to them
    few = pools_load(pools=set(busy), today=today)
    assert set(few) == set(busy)
    for key in busy:
        assert few[key].supply == everything[key].supply, key
        def by_id(lines):
            return sorted(lines, key=lambda line: line.demand.line_id)  # the engine orders them

        assert by_id(few[key].lines) == by_id(everything[key].lines), key
    with_sources = [line.current.sources for key in busy for line in everything[key].lines
                    if line.current is not None and line.current.sources]
    assert with_sources and all(isinstance(sources, list) for sources in with_sources)
