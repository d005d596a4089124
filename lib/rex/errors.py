"""Exit codes (sysexits) named once, and the exceptions that carry them.

Every command ends through these: a domain module raises the exception that says
what went wrong, the command layer turns it into one line on stderr and the code.
"""

OK = 0
PARTIAL = 1          # some records failed, each named on stderr
USAGE = 64
DATAERR = 65
NOINPUT = 66
UNAVAILABLE = 69
SOFTWARE = 70
CANTCREAT = 73
IOERR = 74
TEMPFAIL = 75
NOPERM = 77
CONFIG = 78

MEANINGS = {
    OK: "everything done",
    PARTIAL: "some records failed (each named on stderr); the rest were done",
    USAGE: "usage error (bad option or operand)",
    DATAERR: "data error: a backup is corrupt, a checksum does not match, input is malformed",
    NOINPUT: "an input file does not exist",
    UNAVAILABLE: "a required program or service is unavailable",
    SOFTWARE: "internal error (a bug)",
    CANTCREAT: "cannot create an output file",
    IOERR: "I/O error (disk full, read error)",
    TEMPFAIL: "temporary failure, try later (server down, Resolve not running, lock held)",
    NOPERM: "permission denied (authentication failed)",
    CONFIG: "configuration error",
}


class RexError(Exception):
    """An error with a one-line message and the exit code that tells its kind."""

    code = SOFTWARE

    def __init__(self, message, code=None):
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self):
        return str(self)


class UsageError(RexError):
    code = USAGE


class DataError(RexError):
    code = DATAERR


class NoInput(RexError):
    code = NOINPUT


class Unavailable(RexError):
    code = UNAVAILABLE


class CantCreate(RexError):
    code = CANTCREAT


class IOFailure(RexError):
    code = IOERR


class TempFail(RexError):
    code = TEMPFAIL


class NoPermission(RexError):
    code = NOPERM


class ConfigError(RexError):
    code = CONFIG


def about(subject, detail):
    """`SUBJECT: DETAIL`, the subject named once: a detail that already starts with it (the
    message of an error raised with its path) is not prefixed again."""
    subject, detail = str(subject), str(detail)
    return detail if detail.startswith(subject + ": ") else f"{subject}: {detail}"


def describe(exc):
    """What went wrong, without the file name an OSError's str() adds (the message that
    quotes it names the file already); a RexError's message; else str(exc)."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    if isinstance(exc, RexError):
        return exc.message
    return str(exc)


def from_oserror(exc, what):
    """Map an OSError met while doing `what` to the RexError a user should see."""
    import errno

    text = f"{what}: {describe(exc)}"
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS):
        return IOFailure(text)
    if exc.errno == errno.ENOENT:
        return NoInput(text)
    if exc.errno in (errno.EACCES, errno.EPERM):
        return NoPermission(text)
    return CantCreate(text)


# The usual precedence: a run-wide condition (disk full, server down) outranks data
# errors, which outrank a plain partial failure.
ORDER = (IOERR, TEMPFAIL, NOPERM, UNAVAILABLE, DATAERR, NOINPUT, CANTCREAT, SOFTWARE, PARTIAL)


def worst(codes, order=ORDER):
    """The exit code for a run whose records ended with `codes`: the first code of `order`
    among them; PARTIAL for failures `order` does not name; OK when every record succeeded.

    A command whose runs rank codes differently says so here, e.g. rex-verify:
    `worst(codes, order=(DATAERR, NOINPUT, *ORDER))` (anything corrupt, else missing, ...).
    """
    present = set(codes) - {OK}
    for code in order:
        if code in present:
            return code
    return PARTIAL if present else OK
