"""The remote and the rclone program as the configuration names them (upload.*)."""

from .. import errors


def target(config):
    """The validated upload.remote; a bad one is a usage error on the command line, else a
    configuration error."""
    from . import rclone

    value = config.get("upload.remote")
    source = config.source("upload.remote")
    if not value:
        raise errors.UsageError("no remote: give --remote REMOTE:PATH or set upload.remote in the configuration")
    try:
        return rclone.check_remote(value)
    except ValueError as exc:
        if source.startswith("option"):
            raise errors.UsageError(f"--remote: {exc}") from None
        raise errors.ConfigError(f"upload.remote ({source}): {exc}") from None


def program(config):
    """The rclone program configured (upload.rclone, .rclone_config, .timeout); 69 when missing."""
    from . import rclone
    from ..runner import find_program

    return rclone.Rclone(find_program("rclone", config.get("upload.rclone")),
                         rclone.environment(config.get("upload.rclone_config")), config.get("upload.timeout"))


def upload(config, target_, root, items, check_only=False):
    """Upload (or with `check_only`, check) the Items with the configured rclone, transfers and
    checks, remembering proofs in the upload ledger; an UploadResult per Item."""
    from ..paths import state_dir
    from .ledger import UploadLedger
    from .upload import Uploader

    ledger = UploadLedger(state_dir())
    try:
        uploader = Uploader(program(config), target_, root, transfers=config.get("upload.transfers"),
                            bwlimit=config.get("upload.bwlimit"), download_check=config.get("upload.download_check"),
                            ledger=ledger, recheck_after=config.get("upload.recheck_after"))
        return uploader.run(items, check_only=check_only)
    finally:
        ledger.close()
