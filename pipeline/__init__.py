"""The corpus-prep engine: config, planner, runner, accounting, reports and the command line."""
