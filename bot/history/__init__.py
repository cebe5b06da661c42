"""History: what the store remembers, read back for people who look at the work afterwards.

Pure reads over the store, no Slack: the stand-up report (`standups`), and the history as a
process-mining event log (`events`, written by `ocel`, `xes` and `table`). What a reader may
not see is left out unless asked for (`privacy`)."""
