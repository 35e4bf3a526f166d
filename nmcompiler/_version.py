"""The version of nmcompiler (one place: the package, the images and the CLI read it here)."""

__version__ = "0.3.0"
