"""Acoustic features: log-mel filterbanks, wav2vec representations, and the on-disk cache."""
