"""Primitives by family: each primitive with its impl, JVP, VJP, batching and Taylor rules."""
