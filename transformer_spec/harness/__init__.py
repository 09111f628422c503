"""The harness: selecting an implementation, calling it safely, comparing with the reference."""
