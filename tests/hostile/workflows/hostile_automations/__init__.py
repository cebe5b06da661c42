"""Automations of the hostile-input workflows: they report exactly what they were given."""
