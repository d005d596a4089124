"""A warm standby of the project database: preparing the primary, cloning,
watching the lag and promoting (rex-standby)."""
