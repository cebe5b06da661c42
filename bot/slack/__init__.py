"""The Slack app: the Web API client, the outbox messenger and the Block Kit rendering."""
