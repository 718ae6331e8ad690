"""The data sources the dashboards use: fixed uids, the same ones `deploy/grafana/provisioning` creates."""

from typing import Final

from grafana_foundation_sdk.models.dashboard import DataSourceRef

PROMETHEUS_UID: Final = "dx-prometheus"
POSTGRES_UID: Final = "dx-postgres"
ALERTMANAGER_UID: Final = "dx-alertmanager"
ALERTMANAGER_NAME: Final = "Alertmanager"

PROMETHEUS_TYPE: Final = "prometheus"
POSTGRES_TYPE: Final = "grafana-postgresql-datasource"
ALERTMANAGER_TYPE: Final = "alertmanager"

PROVISIONED: Final = {PROMETHEUS_UID: PROMETHEUS_TYPE, POSTGRES_UID: POSTGRES_TYPE, ALERTMANAGER_UID: ALERTMANAGER_TYPE}


def prometheus() -> DataSourceRef:
    return DataSourceRef(type_val=PROMETHEUS_TYPE, uid=PROMETHEUS_UID)


def postgres() -> DataSourceRef:
    return DataSourceRef(type_val=POSTGRES_TYPE, uid=POSTGRES_UID)
