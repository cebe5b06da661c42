"""Automations of the crash soak (importable from the soak's workflows folder)."""
