"""Observability: Prometheus metrics (`GET /metrics`) and structured, redacted logs.

- `metrics`: the process's own counters and histograms, and the scrape of `/metrics`;
- `database`: the figures read from the database at scrape time (true for every process);
- `logs`: `configure_logging(settings)` for `conductor serve` and `conductor clock`;
- `context`: the run and step a piece of work is for, carried into every log line;
- `redaction`: secrets and Slack tokens masked in every log line.
"""
