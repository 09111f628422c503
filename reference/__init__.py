"""The oracle: the paper's equations in pure NumPy float64, one function each.

Nothing under ``reference/`` imports torch.  See ``reference.clauses`` for the
registry of clauses that these functions define.
"""
