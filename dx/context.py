"""What every `dx` command needs, built once per invocation: settings, catalog, hierarchy."""

from dataclasses import dataclass

from shared.domain.catalog import Catalog, load_catalog
from shared.domain.hierarchy import Hierarchy, load_hierarchy
from shared.settings import Settings


@dataclass(frozen=True)
class Context:
    settings: Settings
    catalog: Catalog
    hierarchy: Hierarchy


def load_context(settings: Settings | None = None) -> Context:
    settings = settings or Settings()
    return Context(settings, load_catalog(settings.catalog_path), load_hierarchy(settings.units_dir))
