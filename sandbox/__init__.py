"""Zoho-compatible stand-in server (accounts server + Books v3) for demos and tests.

It imports nothing from the rest of Bookbridge: it is an independent implementation of
the contracts, so that it and Bookbridge's client check each other.
"""

from sandbox.app import create_app

__all__ = ["create_app"]
