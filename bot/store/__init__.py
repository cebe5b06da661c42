"""SQLAlchemy models and sessions: the single source of truth."""
