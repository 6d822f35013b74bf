"""One module per transformation: forward (JVP) and reverse (VJP) mode."""
