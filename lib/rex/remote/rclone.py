"""rclone command lines as data, and what rclone's answers mean.

Every argv is built by a pure function here and run by `runner`, so the lines can
be tested without running anything. Nothing secret is ever put in argv: the config
file is named through RCLONE_CONFIG (under systemd rclone has no HOME to find its
own), and credentials live in that file or in RCLONE_CONFIG_<REMOTE>_* variables.
"""

import json
import os
import re

from .. import errors, log, runner

# rclone's spelling of a remote and of a stored link, shared with config and retention
# (which sit below this package), is defined once in the base module remotepath.
from ..remotepath import LINK_SUFFIX, check_remote, join  # noqa: F401  (re-exported)


def environment(config_file=None):
    """Environment for rclone: the config file named explicitly when one is configured."""
    env = {}
    if config_file:
        env["RCLONE_CONFIG"] = config_file
    return env


def _common(transfers=None, bwlimit=None):
    argv = []
    if transfers:
        argv += ["--transfers", str(transfers), "--checkers", str(max(8, transfers))]
    if bwlimit:
        argv += ["--bwlimit", str(bwlimit)]
    return argv


def copy_argv(program, source_root, remote, files_from, transfers=None, bwlimit=None, force=False):
    """`rclone copy` of the files named (one per line) in `files_from`, relative to `source_root`.

    rclone's own after-copy hash check is turned off (`--ignore-checksum`): Rex checks
    every file against its sidecar's md5 afterwards, which is stronger and costs the
    remote one hash instead of two. `--use-json-log -v` tells which files were copied.
    `force` sends every file whatever the remote holds (`--ignore-times`): a copy damaged
    in place keeps its size and time, which is all rclone compares.
    """
    return [program, "copy", "--files-from-raw", files_from, "--no-traverse", "--ignore-checksum",
            *(["--ignore-times"] if force else []), "--use-json-log", "-v", "--stats", "0",
            *_common(transfers, bwlimit), "--", source_root, remote]


def copy_tree_argv(program, source_dir, remote, transfers=None, bwlimit=None, force=False):
    """`rclone copy` of a whole (small, staged) directory tree (`force`: as in copy_argv)."""
    return [program, "copy", *(["--ignore-times"] if force else []), "--use-json-log", "-v", "--stats", "0",
            *_common(transfers, bwlimit), "--", source_dir, remote]


def lsjson_argv(program, remote, files_from, hashes=True):
    """A listing of just the files named in `files_from`, with the remote's hashes if it has any."""
    return [program, "lsjson", "-R", "--files-only", "--files-from-raw", files_from,
            *(["--hash", "--hash-type", "md5"] if hashes else []), "--", remote]


def md5sum_download_argv(program, remote, files_from, bwlimit=None):
    """md5 of the files named in `files_from`, computed by downloading them (remotes without md5)."""
    return [program, "md5sum", "--download", "--files-from-raw", files_from,
            *(["--bwlimit", str(bwlimit)] if bwlimit else []), "--", remote]


def lsjson_tree_argv(program, remote):
    """A listing of every object under `remote` (recursive, files only, no hashes)."""
    return [program, "lsjson", "-R", "--files-only", "--", remote]


def copy_down_argv(program, remote, files_from, dest):
    """Download the (small) objects named in `files_from` under `remote` into `dest`."""
    return [program, "copy", "--files-from-raw", files_from, "--no-traverse", "--stats", "0", "--", remote, dest]


def delete_argv(program, remote, files_from):
    """Delete exactly the objects named in `files_from` under `remote`; no directory is removed.
    `--use-json-log -v` tells which were deleted."""
    return [program, "delete", "--files-from-raw", files_from, "--use-json-log", "-v", "--stats", "0", "--",
            remote]


def version_argv(program):
    return [program, "version"]


def parse_lsjson(text):
    """{path: (size, md5 or None)} from `rclone lsjson` output."""
    try:
        entries = json.loads(text or "[]")
    except ValueError as exc:
        raise errors.RexError(f"rclone lsjson: unreadable output ({exc})", errors.SOFTWARE) from None
    found = {}
    for entry in entries:
        if entry.get("IsDir"):
            continue
        md5 = (entry.get("Hashes") or {}).get("md5") or None
        found[entry["Path"]] = (entry.get("Size"), md5.lower() if md5 else None)
    return found


def parse_md5sum(text):
    """{path: md5} from `rclone md5sum` output (`<hex>  <path>` lines)."""
    found = {}
    for line in (text or "").split("\n"):
        digest, sep, path = line.partition("  ")
        if sep and len(digest) == 32:
            found[path] = digest.lower()
    return found


def _logged_objects(stderr, wanted):
    """The objects of the `--use-json-log -v` stderr lines whose message passes `wanted`."""
    found = set()
    for line in (stderr or "").splitlines():
        if not line.startswith("{"):
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if wanted(str(entry.get("msg", ""))) and entry.get("object"):
            found.add(entry["object"])
    return found


def copied_objects(stderr):
    """The paths rclone reported copied, from its `--use-json-log -v` stderr."""
    return _logged_objects(stderr, lambda msg: msg.startswith("Copied"))


def deleted_objects(stderr):
    """The paths rclone reported deleted, from its `--use-json-log -v` stderr."""
    return _logged_objects(stderr, lambda msg: msg == "Deleted")


def not_found(stderr):
    """True when rclone says the path listed does not exist (nothing uploaded there yet)."""
    return any("directory not found" in line.lower() for line in messages(stderr))


def messages(stderr):
    """rclone's error lines as plain text (JSON log lines reduced to their message)."""
    out = []
    for line in (stderr or "").splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                entry = json.loads(line)
            except ValueError:
                out.append(line)
                continue
            if entry.get("level") in ("warning", "error", "critical", "fatal"):
                obj = entry.get("object")
                out.append(f"{obj}: {entry.get('msg', '')}" if obj else str(entry.get("msg", "")))
        elif line:
            out.append(line)
    return out


_UNREACHABLE = ("connection refused", "no such host", "i/o timeout", "network is unreachable",
                "no route to host", "connection reset", "context deadline exceeded", "tls handshake timeout",
                "server misbehaving", "timeout")
_AUTH = ("403 forbidden", "unauthorized", "unable to authenticate", "authentication failed",
         "permission denied (publickey", "invalid_grant", "access denied", "couldn't connect ssh: ssh: handshake")


def run_wide(stderr):
    """The sysexits code when rclone's messages say the whole run failed (remote down,
    refused, misconfigured), else None (failures of single files)."""
    text = " ".join(messages(stderr)).lower()
    # A bare status code only where it stands alone: a port such as 127.0.0.1:36401 is no 401.
    if any(s in text for s in _AUTH) or re.search(r"(?<![\w.:])40[13](?!\w)", text):
        return errors.NOPERM
    if any(s in text for s in _UNREACHABLE):
        return errors.TEMPFAIL
    if "didn't find section in config file" in text or "unknown backend" in text or "not found in config" in text:
        return errors.CONFIG
    return None


def classify(returncode, stderr):
    """The sysexits code for a failed rclone run, from its exit status and stderr."""
    code = run_wide(stderr)
    if code is not None:
        return code
    if returncode == 5:     # rclone: temporary error
        return errors.TEMPFAIL
    if returncode == 2:     # rclone: syntax or usage error
        return errors.USAGE
    return errors.PARTIAL


def failure(what, returncode, stderr, lines=3):
    """A RexError for a failed rclone run, quoting the end of its messages."""
    tail = " / ".join(messages(stderr)[-lines:])
    return errors.RexError(f"{what} failed (rclone exit {returncode})" + (f": {tail}" if tail else ""),
                           classify(returncode, stderr))


class Rclone:
    """One rclone program, its environment and timeout: runs the argvs built above."""

    def __init__(self, program, env=None, timeout=None):
        self.program, self.env, self.timeout = program, env or {}, timeout

    def run(self, argv, what):
        result = runner.run(argv, env=self.env, timeout=self.timeout)
        log.debug(f"{what}: exit {result.returncode}")
        return result

    def run_tolerant(self, argv, what, warn_lines=5):
        """Run; a failure of the whole run (remote down, refused, misconfigured) raises,
        failures of single files are left to the caller's own check (after a warning
        quoting rclone's last `warn_lines` messages)."""
        result = self.run(argv, what)
        if not result.ok:
            if run_wide(result.stderr) is not None:
                raise failure(what, result.returncode, result.stderr)
            for line in messages(result.stderr)[-warn_lines:] if warn_lines else ():
                log.warning(f"rclone: {line}")
        return result


def write_list(directory, name, rels):
    """A `--files-from-raw` list of `rels` (one per line) in `directory`; its path."""
    path = os.path.join(directory, name)
    with open(path, "wb") as f:
        for rel in rels:
            f.write(rel.encode("utf-8", "surrogateescape") + b"\n")
    return path
