"""The workflow language: YAML -> typed models, templates, lint, diagnostic, diagrams (pure)."""
