"""Tracing core: trace levels, tracers, primitives, pytrees and the registered
array namespace (no NumPy functions here; see docs/architecture.md)."""
