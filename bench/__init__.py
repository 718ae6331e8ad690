"""Performance benchmark of dxmon: `python -m bench.run` (or `make bench`); method and figures in bench/README.md."""
