"""The root exception of the `jobs` package; every error raised here derives from it."""


class JobsError(Exception):
    """Base class for errors about manifests, bundles, content and execution."""
