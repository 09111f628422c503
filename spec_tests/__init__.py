"""The conformance suite: one module per section of the paper, every test tied to a clause."""
