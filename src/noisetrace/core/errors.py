"""Domain exceptions.

The library raises these with messages that tell the user what to do; the CLI turns any
:class:`NoisetraceError` into one clear line and exit code 1 instead of a traceback.
"""


class NoisetraceError(Exception):
    """Base class for every error a user can fix (bad path, bad input, bad config)."""


class DatasetLayoutError(NoisetraceError):
    """A dataset folder is missing or does not have the layout its indexer expects."""


class ManifestError(NoisetraceError):
    """A manifest file is missing, unreadable, or lacks required columns."""


class VideoDecodeError(NoisetraceError):
    """A video cannot be opened or decoded (corrupt, truncated, empty, not a video)."""


class MissingWeightsError(NoisetraceError):
    """Model weights are not available locally; the message names the file and how to get it."""


class CheckpointError(NoisetraceError):
    """A checkpoint cannot be loaded, or belongs to a different model or input size."""


class ConfigError(NoisetraceError):
    """A configuration value or command-line override is invalid."""


class OutputError(NoisetraceError):
    """An output of a run cannot be written: the disk is full, permission is denied, a file stands where
    a folder should be, the filesystem is read-only. Made by :func:`noisetrace.core.io.output_error`,
    whose message names the file, the cause, and that nothing finished was lost."""
