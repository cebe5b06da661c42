"""Automations used by the example workflows (`uses: automations.<module>:<function>`).

Each try runs in a process of its own, with the workflows folder last on its import path, so
these import as `automations.*` (and cannot shadow an installed library).
"""
