"""The operators' `dx` command. One rule: `dx/commands/` modules parse arguments and render results; the work lives
beside them, one module per job: importer (dx import), simulate + simulation + profiles (dx simulate), dlq,
status (queries), sources (administration), with client, sending and tokens shared by the jobs that post events."""
