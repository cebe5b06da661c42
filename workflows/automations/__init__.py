"""Automations used by the example workflows (`uses: automations.<module>:<function>`).

The workflows folder is put on the import path, so these import as `automations.*`.
"""
