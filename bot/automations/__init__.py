"""Algorithmic step runners: Python callables, argv commands, HTTP calls, built-ins."""
