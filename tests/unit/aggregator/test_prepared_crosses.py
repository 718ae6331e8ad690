"""What the decode worker hands back crosses the process boundary unchanged: the series-day sums travel as flat
columns (Prepared.__getstate__) and are rebuilt equal, with the same instants, days and tie-breaking ids."""

import pickle
from datetime import UTC, datetime
from multiprocessing.reduction import ForkingPickler

from bench.workload import generate
from services.aggregator.decode import Decoder
from services.aggregator.prepare import Part, prepare


def test_a_prepared_batch_is_the_same_after_crossing_to_the_consumer(catalog, hierarchy):
    now = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
    messages = generate(hierarchy, 3_000, 5, now=now).messages()
    parts = [Part(0, list(range(len(messages))), [v for _, v in messages])]
    prepared = prepare(Decoder(catalog, hierarchy), parts)
    assert len(prepared.series) > 100 and prepared.amendments  # history, live days and amendments in the batch
    crossed = pickle.loads(ForkingPickler.dumps(prepared))
    assert crossed.series == prepared.series
    assert list(crossed.series) == list(prepared.series)  # the same order (the plan walks it)
    assert all(crossed.series[k].observed_at.utcoffset() is not None for k in crossed.series)
    assert (crossed.copy, crossed.rows, crossed.received, crossed.poison, crossed.periods, crossed.amendments) == (
        prepared.copy,
        prepared.rows,
        prepared.received,
        prepared.poison,
        prepared.periods,
        prepared.amendments,
    )
