"""The processes Conductor runs, each wired together here from the adapters: `serve` (Slack
over HTTP or Socket Mode, webhooks, health and metrics, with the clock unless `--no-clock`)
and `clock` (timers, automations, the messenger, the people refresh). These are the only
modules that put adapters side by side; the adapters themselves never import each other."""
