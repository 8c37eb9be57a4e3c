"""Errors raised while reading a PruneKit export. Each names the file or key at fault and what was expected."""


class PruneKitError(Exception):
    """Base class of every error this package raises."""


class ManifestError(PruneKitError):
    """A ``prunekit.json`` that is absent, does not parse, or breaks the format's rules."""

    def __init__(self, path, reason):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path} is not a valid prunekit.json: {reason}")


class UnsupportedFormatVersionError(ManifestError):
    """A ``prunekit.json`` written by a newer PruneKit than this reader knows."""

    def __init__(self, path, found, supported):
        self.found = found
        self.supported = supported
        ManifestError.__init__(
            self, path,
            f"format_version {found} is newer than {supported}, the newest this reader knows; "
            f"upgrade the prunekit Python package")


class UnsupportedModelError(PruneKitError):
    """An export this loader cannot rebuild in diffusers (another architecture, unit kind or layer type)."""


class WeightMismatchError(PruneKitError):
    """The export's weights do not have the keys or shapes its ``prunekit.json`` and ``config.json`` describe."""

    def __init__(self, directory, problems):
        self.directory = str(directory)
        self.problems = list(problems)
        listed = "\n  ".join(self.problems)
        super().__init__(
            f"{self.directory}: the weights do not match prunekit.json and config.json "
            f"({len(self.problems)} problem{'s' if len(self.problems) != 1 else ''}):\n  {listed}")
