"""End-to-end translation training: synthetic and plain-text corpora, shared vocabulary, batching, training."""
