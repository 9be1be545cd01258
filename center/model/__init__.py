"""The center's domain model: plain values and pure rules, no I/O."""
