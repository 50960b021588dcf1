"""Pure domain model: plans, sections, tasks, statuses. Does no I/O and never reads the clock."""
