"""Where the replication role's password comes from: never argv, never the config file."""

import os

from .. import errors


def replication_password(password_file=None, libpq=False):
    """--password-file, else REX_STANDBY_PASSWORD, else (for clone, which connects as that
    role) PGPASSWORD; None when none is given."""
    if password_file:
        try:
            with open(password_file) as f:
                return f.readline().rstrip("\n")
        except OSError as exc:
            raise errors.from_oserror(exc, f"cannot read {password_file}") from None
    return os.environ.get("REX_STANDBY_PASSWORD") or (os.environ.get("PGPASSWORD") if libpq else None)
