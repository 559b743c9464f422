"""Bits in and out: exact codecs between numbers and bit strings."""
