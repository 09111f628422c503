"""End-to-end translation training with the paper's recipe (§5) and evaluation (§6.1).

Modules: :mod:`.synthetic` (a seeded toy language pair), :mod:`.corpus`
(plain-text parallel corpora), :mod:`.vocab` (shared SentencePiece
vocabulary), :mod:`.batching` (token-count batches), :mod:`.presets`,
:mod:`.variants` (ablations for negative controls), :mod:`.train`,
:mod:`.evaluate`, :mod:`.leak` (teacher-forced vs decoded verdict),
:mod:`.curve` and :mod:`.run` (``train_and_evaluate``, behind
``transformer-spec train``).
"""
