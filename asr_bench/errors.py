"""Error types shared by every layer, so callers can tell bad input from bugs."""


class AsrBenchError(Exception):
    """Base class: a problem with the user's input, data or configuration."""


class BadAudioError(AsrBenchError):
    """An audio file that cannot be used (missing, corrupt, empty, wrong rate)."""


class ManifestError(AsrBenchError):
    """A manifest line that does not parse or lacks required fields."""


class CorpusLayoutError(AsrBenchError):
    """A corpus directory that does not follow the publisher's documented layout."""


class ConfigError(AsrBenchError):
    """A configuration file or command-line override that does not fit the schema."""
