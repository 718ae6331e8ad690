"""Performance benchmark of dxmon (issue 8): `python -m bench.run` (or `make bench`)."""
