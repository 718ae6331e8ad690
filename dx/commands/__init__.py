"""`dx` sub-commands: each module parses its arguments, calls one job module of `dx`, and renders the result."""
