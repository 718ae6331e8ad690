"""The connector kinds, each a small module behind one interface (`Kind` in services/pull/kinds/base.py)."""
