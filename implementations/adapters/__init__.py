"""Adapters: each puts one implementation behind the protocol of ``transformer_spec.implementations.protocol``.

They are short on purpose and double as examples for users writing their own.
"""
