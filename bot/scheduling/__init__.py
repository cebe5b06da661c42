"""The clock: APScheduler wiring that fires timers, cron-scheduled runs and automations."""
