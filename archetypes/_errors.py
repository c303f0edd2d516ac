"""Errors shared by the compiler's modules."""


class UnsupportedConstraint(Exception):
    """An OPT construct the compiler does not understand; the message names it and its OPT path."""
