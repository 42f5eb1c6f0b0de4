"""The benchmark of porch against its peers: ``python3 bench/run.py`` (see docs/benchmarks.md)."""
