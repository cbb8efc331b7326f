"""Pure algorithms: plain functions on numpy/pandas data, no chain I/O (tested and benchmarked alone)."""
