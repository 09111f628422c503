"""The project's own PyTorch Transformer ("Attention Is All You Need"), the default implementation under test.

Public API: :class:`Transformer` (``forward(src, tgt, keep=None)``, ``encode``,
``decode``, ``generator``), canonical weights in and out (:func:`load_canonical`,
:func:`export_canonical`), decoding (:func:`greedy_decode`, :func:`beam_search`)
and training (:func:`label_smoothed_loss`, :func:`noam_scheduler`,
:func:`make_optimizer`, :func:`train_step`).  Pure tensor functions live in
:mod:`transformer_spec.implementations.pytorch.functional`.
"""
from transformer_spec.implementations.pytorch.canonical import export_canonical, load_canonical
from transformer_spec.implementations.pytorch.decoding import beam_search, greedy_decode
from transformer_spec.implementations.pytorch.model import Transformer
from transformer_spec.implementations.pytorch.training import (label_smoothed_loss, learning_rate, make_optimizer, noam_scheduler,
                                              train_step)

__all__ = ["Transformer", "load_canonical", "export_canonical", "greedy_decode", "beam_search",
           "label_smoothed_loss", "learning_rate", "noam_scheduler", "make_optimizer", "train_step"]
