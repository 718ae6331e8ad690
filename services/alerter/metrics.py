"""Domain gauges (docs/alerts-and-metrics.md) from an in-memory snapshot (replaced at once, so a scrape never
sees half of it), plus the alerter's own counters."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from services.alerter.evaluator import Current, Pair
from services.alerter.rules import TargetRow
from shared import names
from shared.adapters.lag import lag_gauge
from shared.adapters.metrics import service_registry
from shared.domain.hierarchy import Unit


@dataclass
class Snapshot:
    current: dict[Pair, Current] = field(default_factory=dict)
    targets: dict[tuple[str, str, str], TargetRow] = field(default_factory=dict)
    units: list[Unit] = field(default_factory=list)


class DomainCollector(Collector):
    """With `levels`, exports the series of the units in force (as of the last full evaluation) whose level is one of
    them: the alerter exports the province and its districts by default (README "Metrics": the series count and
    why); communes' values are read from PostgreSQL. Without `levels`, every unit of the snapshot is exported."""

    def __init__(self, levels: frozenset[str] | None = None) -> None:
        self.snapshot = Snapshot()
        self.levels = levels

    def _exported(self) -> Callable[[str], bool]:
        if self.levels is None:
            return lambda code: True
        codes = {u.code for u in self.snapshot.units if u.level in self.levels}
        return codes.__contains__

    def update(self, current: dict[Pair, Current], rows: list[TargetRow]) -> None:
        """Merge a partial evaluation (one rollup's pairs) into the snapshot."""
        self.snapshot.current.update(current)
        self.snapshot.targets.update({(r.indicator, r.unit, r.milestone): r for r in rows})

    def collect(self) -> Iterator[GaugeMetricFamily]:
        snap = self.snapshot
        exported = self._exported()
        pair, key = ["indicator", "unit"], ["indicator", "unit", "milestone"]
        value = GaugeMetricFamily(names.M_INDICATOR_VALUE, "Current value in the indicator's unit", labels=pair)
        coverage = GaugeMetricFamily(names.M_INDICATOR_COVERAGE, "Reporting children / children in force", labels=pair)
        last = GaugeMetricFamily(names.M_INDICATOR_LAST_OBSERVED, "Last observation (unix seconds)", labels=pair)
        carried = GaugeMetricFamily(names.M_INDICATOR_CARRIED_FROM, "Predecessor units the value is carried from "
                                    "(0: its own observation)", labels=pair)  # fmt: skip
        carried_children = GaugeMetricFamily(names.M_INDICATOR_REPORTING_CARRIED, "Reporting units whose value is "
                                             "carried from predecessor units", labels=pair)  # fmt: skip
        for (ind, unit), cur in snap.current.items():
            if not exported(unit):
                continue
            if cur.value is not None:
                value.add_metric([ind, unit], cur.value)
            if cur.coverage is not None:
                coverage.add_metric([ind, unit], cur.coverage)
            if cur.last_observed_at is not None:
                last.add_metric([ind, unit], cur.last_observed_at.timestamp())
            if cur.carried_from is not None:
                carried.add_metric([ind, unit], cur.carried_from)
            if cur.reporting_carried is not None:
                carried_children.add_metric([ind, unit], cur.reporting_carried)
        t_value = GaugeMetricFamily(names.M_TARGET_VALUE, "Value the target is judged on", labels=key)
        t_expected = GaugeMetricFamily(names.M_TARGET_EXPECTED, "Planned value today", labels=key)
        t_projected = GaugeMetricFamily(names.M_TARGET_PROJECTED, "Trend projection at the milestone", labels=key)
        status = GaugeMetricFamily(names.M_TARGET_STATUS, "1 for the current status", labels=[*key, "status"])
        for (ind, unit, ms), row in snap.targets.items():
            if not exported(unit):
                continue
            for family, number in ((t_value, row.value), (t_expected, row.expected), (t_projected, row.projected)):
                if number is not None:
                    family.add_metric([ind, unit, ms], number)
            status.add_metric([ind, unit, ms, row.status.value], 1.0)
        info = GaugeMetricFamily(names.M_UNIT_INFO, "Units in force", labels=["unit", "name", "level", "parent"])
        for u in snap.units:
            if not exported(u.code):
                continue
            info.add_metric([u.code, u.full_name, u.level, u.parent_code or ""], 1.0)
        yield from (value, coverage, last, carried, carried_children, t_value, t_expected, t_projected, status, info)


@dataclass
class AlerterMetrics:
    registry: CollectorRegistry
    domain: DomainCollector
    evaluations: Counter
    firing: Gauge
    lag: Gauge
    held: Gauge
    backlog: Gauge


def build_metrics(levels: frozenset[str] | None = None) -> AlerterMetrics:
    registry = service_registry()
    domain = DomainCollector(levels)
    registry.register(domain)
    evaluations = Counter(
        names.M_ALERT_EVALUATIONS, "Targets evaluated, by trigger (rollup or periodic)", ["trigger"], registry=registry
    )
    firing = Gauge(names.M_ALERTS_FIRING, "Alerts firing (leader only)", ["alertname", "severity"], registry=registry)
    held = Gauge(names.M_ALERTS_HELD, "1 while new alerts wait for the aggregator's backlog (leader only)",
                 registry=registry)  # fmt: skip
    backlog = Gauge(names.M_AGGREGATOR_BACKLOG, "Messages in dx.events.v1 the aggregator has not applied",
                    registry=registry)  # fmt: skip
    return AlerterMetrics(registry, domain, evaluations, firing, lag_gauge(registry), held, backlog)
