"""rexd: the suite's jobs on one schedule, for hosts without systemd or launchd."""
