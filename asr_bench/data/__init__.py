"""Audio I/O, manifests, corpus preparation, splits and token sets."""
