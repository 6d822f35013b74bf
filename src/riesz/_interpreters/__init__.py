"""One module per transformation, each a `Trace` subclass: forward (JVP), reverse
(VJP), batching (vmap) and taylor (jet). They import only `riesz._core`; the array
operations they need are the ones the array layer registered in
`riesz._core.ops` (see docs/architecture.md)."""
