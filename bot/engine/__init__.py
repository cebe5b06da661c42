"""The conductor core: run state machine, handoffs, routing, timers, permissions (no Slack, no scheduler)."""
