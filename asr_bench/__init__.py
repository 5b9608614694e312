"""asr-bench: wav2vec 1.0 versus log-mel features for ASR, end to end."""

__version__ = "0.1.0"  # the package's one version number: pyproject.toml reads it from here
