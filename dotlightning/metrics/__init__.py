"""Metrics: DOT extraction and parsing (Graphviz in-process), the repair of bare names, the graph metrics, and the
tables they are printed in. Imports nothing else of the package."""
