"""The pull collector: scheduled connectors that fetch from source systems that cannot push (docs/connectors.md)."""
