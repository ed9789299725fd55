"""`choreo` sub-commands that live in core: one module each, exposing ``register(subparsers)``."""
