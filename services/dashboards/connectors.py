"""The *Vận hành* row of the pull collector's connectors (services/pull): records per connector, runs by outcome,
time since the last success next to the schedule's interval (DxConnectorStale fires past three intervals).

Every copy of the pull collector exports every connector's stored state, hence the `max by (connector)`."""

from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.builders import timeseries

from services.dashboards.queries import promql
from shared import names

RECORDS = {
    "lấy về (fetched)": names.M_CONNECTOR_FETCHED,
    "chấp nhận (accepted)": names.M_CONNECTOR_ACCEPTED,
    "bị từ chối (rejected)": names.M_CONNECTOR_REJECTED,
}
SINCE_SUCCESS = f"time() - max by (connector) ({names.M_CONNECTOR_LAST_SUCCESS})"
INTERVAL = f"max by (connector) ({names.M_CONNECTOR_INTERVAL})"
RUNS = f"sum by (connector, outcome) (increase({names.M_CONNECTOR_RUNS}_total[15m]))"


def _records() -> timeseries.Panel:
    panel = timeseries.Panel().title("Bản ghi theo bộ thu thập (records per connector, /s)").unit("reqps")
    for ref, (label, metric) in zip("ABC", RECORDS.items(), strict=True):
        query = f"sum by (connector) (rate({metric}_total[5m]))"
        panel = panel.with_target(promql(query, f"{{{{connector}}}} {label}", ref))
    return panel.height(8).span(8)


def _runs() -> timeseries.Panel:
    return (
        timeseries.Panel()
        .title("Lượt chạy theo kết quả (runs in 15 min)")
        .description("ok, failed (nguồn lỗi / hết giờ chờ), lost (mất quyền chạy: tiến trình dừng giữa chừng)")
        .unit("short")
        .with_target(promql(RUNS, "{{connector}} {{outcome}}"))
        .height(8)
        .span(8)
    )


def _freshness() -> timeseries.Panel:
    return (
        timeseries.Panel()
        .title("Từ lần thành công cuối (since last success) và chu kỳ lịch")
        .description("Cảnh báo DxConnectorStale khi vượt 3 chu kỳ; xem: dx connectors list.")
        .unit("s")
        .with_target(promql(SINCE_SUCCESS, "{{connector}} từ lần thành công", "A"))
        .with_target(promql(INTERVAL, "{{connector}} chu kỳ (interval)", "B"))
        .height(8)
        .span(8)
    )


def with_connectors(board: dash.Dashboard) -> dash.Dashboard:
    """The connectors' row appended to `board`."""
    board = board.with_row(dash.Row("Bộ thu thập chủ động · Pull connectors"))
    for panel in (_records(), _runs(), _freshness()):
        board = board.with_panel(panel)
    return board
