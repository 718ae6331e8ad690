"""*Vận hành*: the pipeline's health: services up, events per second, rejects, dead letters, lag, latencies."""

from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.builders import stat, timeseries
from grafana_foundation_sdk.builders.prometheus import Dataquery
from grafana_foundation_sdk.models.common import BigValueColorMode, StackingMode
from grafana_foundation_sdk.models.dashboard import ValueMap, ValueMappingResult

from services.dashboards import common, connectors
from services.dashboards import recorded as r
from services.dashboards.queries import promql
from shared import names

UID = "dx-operations"
JOBS = "collector|aggregator|alerter|pull|prometheus|alertmanager"
EVENTS_PER_S = "suffix: sự kiện/s"  # Grafana's custom unit: the number, then this text (events per second)
MESSAGES_PER_S = "suffix: thông điệp/s"  # Kafka messages per second
MESSAGES = "suffix: thông điệp"


def _series(title: str, unit: str, *queries: Dataquery, span: int = 12, description: str = "") -> timeseries.Panel:
    panel = timeseries.Panel().title(title).description(description).unit(unit).height(8).span(span)
    for query in queries:
        panel = panel.with_target(query)
    return panel


def _state_panel(
    title: str, query: Dataquery, height: int, span: int, states: dict[str, tuple[str, str]]
) -> stat.Panel:
    """A stat panel that names each value of a 0/1 series (`states`: value → text, colour, in display order)."""
    options = {v: ValueMappingResult(text=t, color=c, index=i) for i, (v, (t, c)) in enumerate(states.items())}
    return (
        stat.Panel()
        .title(title)
        .with_target(query)
        .height(height)
        .span(span)
        .color_mode(BigValueColorMode.BACKGROUND)
        .mappings([ValueMap(options=options)])
    )


def _services_up() -> stat.Panel:
    query = promql(f'up{{job=~"{JOBS}"}}', "{{job}}")
    return _state_panel("Dịch vụ hoạt động (up)", query, 4, 24, {"1": ("Hoạt động", "green"), "0": ("Ngừng", "red")})


def _flow() -> list[timeseries.Panel | stat.Panel]:
    return [
        _series(
            "Sự kiện mỗi giây (events/s)",
            EVENTS_PER_S,
            promql(f"sum({r.EVENTS_RECEIVED})", "nhận (received)", "A"),
            promql(f"sum({r.EVENTS_ACCEPTED})", "chấp nhận (accepted)", "B"),
            promql(r.EVENTS_APPLIED, "đã tổng hợp (applied)", "C"),
            promql(r.DUPLICATES, "trùng lặp (duplicates)", "D"),
        ),
        _series(
            "Sự kiện nhận theo nguồn (events/s by source)",
            EVENTS_PER_S,
            promql(r.EVENTS_RECEIVED, "{{source}}"),
        ).stacking(common.stacked(StackingMode.NORMAL)),
        _series(
            "Sự kiện bị từ chối theo lý do (rejected events/s)",
            EVENTS_PER_S,
            promql(r.EVENTS_REJECTED, "{{reason}}"),
            span=8,
        ).stacking(common.stacked(StackingMode.NORMAL)),
        stat.Panel()
        .title("Tỷ lệ từ chối (5 phút)")
        .with_target(promql(r.REJECT_RATIO, "tỷ lệ"))
        .unit("percentunit")
        .decimals(1)
        .height(8)
        .span(4)
        .thresholds(common.thresholds((None, "green"), (0.01, "orange"), (0.05, "red"))),
        _series(
            "Dead letter theo dịch vụ và lý do (messages/s)",
            MESSAGES_PER_S,
            promql(r.DEADLETTERED, "{{job}}: {{reason}}"),
            span=12,
            description="Thông điệp chuyển vào dx.deadletter.v1; xem và gửi lại: dx dlq list / dx dlq replay.",
        ),
    ]


def _kafka() -> list[timeseries.Panel | stat.Panel]:
    return [
        _series(
            "Độ trễ tiêu thụ theo nhóm (consumer lag by group)",
            MESSAGES,
            promql(r.LAG_BY_GROUP, "{{group}} ← {{topic}}"),
            description="Thông điệp chưa xử lý của từng nhóm tiêu thụ: aggregator, alerter, collector-ingest.",
        ),
        _series(
            "Độ trễ tiêu thụ theo phân vùng (consumer lag by partition)",
            MESSAGES,
            promql(f"{names.M_CONSUMER_LAG}", "{{group}} {{topic}}/{{partition}}"),
        ),
        _series(
            "Sự kiện chờ tổng hợp (aggregator backlog)",
            MESSAGES,
            promql(f"max({names.M_AGGREGATOR_BACKLOG})", "chờ tổng hợp (backlog)"),
            span=18,
            description="Thông điệp của dx.events.v1 bộ tổng hợp chưa ghi (theo offset lưu trong PostgreSQL); "
            "khi vượt DX_ALERTER_HOLD_BACKLOG_MESSAGES, cảnh báo chỉ tiêu mới được tạm giữ.",
        ),
        _alerts_held(),
    ]


def _alerts_held() -> stat.Panel:
    """Whether the alerter holds new target alerts (docs/alerts-and-metrics.md "Held alerts")."""
    query = promql(f"max({names.M_ALERTS_HELD})", "tạm giữ")
    states = {"0": ("Bình thường", "green"), "1": ("Tạm giữ (held)", "orange")}
    return _state_panel("Cảnh báo chỉ tiêu mới (new target alerts)", query, 8, 6, states).description(
        "Tạm giữ khi bộ tổng hợp còn tồn đọng: giá trị chưa đầy đủ, không cảnh báo trên số liệu đang đến."
    )


def _latency() -> list[timeseries.Panel]:
    return [
        _series(
            "Độ trễ đầu-cuối (nhận → ghi tổng hợp)",
            "s",
            promql(r.E2E_P50, "p50", "A"),
            promql(r.E2E_P99, "p99", "B"),
            span=8,
        ),
        _series(
            "Thời gian ghi Kafka của collector",
            "s",
            promql(r.PUBLISH_P50, "p50", "A"),
            promql(r.PUBLISH_P99, "p99", "B"),
            span=8,
        ),
        _series(
            "Thời gian giao dịch của aggregator",
            "s",
            promql(r.TXN_P50, "p50", "A"),
            promql(r.TXN_P99, "p99", "B"),
            span=8,
        ),
        _series(
            "Kích thước lô (thông điệp mỗi lô · messages per batch)",
            "short",
            promql(r.BATCH_MEAN, "trung bình (mean)", "A"),
            promql(r.BATCH_P99, "p99", "B"),
        ),
        _series(
            "Bộ cảnh báo: lượt đánh giá và cảnh báo đang bật",
            "short",
            promql(f"sum(rate({names.M_ALERT_EVALUATIONS}_total[5m]))", "đánh giá/s (evaluations/s)", "A"),
            promql(f"sum({names.M_ALERTS_FIRING})", "đang cảnh báo (firing)", "B"),
        ),
    ]


def build() -> dash.Dashboard:
    board = (
        common.dashboard(UID, "Vận hành (Operations)", __doc__ or "", time_from="now-1h")
        .with_row(dash.Row("Dịch vụ · Services"))
        .with_panel(_services_up())
        .with_row(dash.Row("Luồng sự kiện · Event flow"))
    )
    for panel in _flow():
        board = board.with_panel(panel)
    board = board.with_row(dash.Row("Kafka"))
    for panel in _kafka():
        board = board.with_panel(panel)
    board = board.with_row(dash.Row("Độ trễ và lô · Latency and batches"))
    for panel in _latency():
        board = board.with_panel(panel)
    return connectors.with_connectors(board)
