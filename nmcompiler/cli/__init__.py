"""The ``nmc`` command line."""
