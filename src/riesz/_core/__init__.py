"""Tracing core: trace levels, tracers, primitives and pytrees (no NumPy here)."""
