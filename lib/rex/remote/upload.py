"""What rex-upload sends, and proof that it arrived.

`Planner` turns local paths into Items: a real file (uploaded with its sidecar) or a
dedupe link (a symlink, or a hard link to an earlier name of the same inode),
which is stored on the remote as rclone stores symlinks with `--links`: a small
`NAME.rclonelink` object holding the relative target, so the remote keeps one
copy of the bytes and `rclone copy -l` restores the link.

`Uploader` first checks every expected object with one listing: present, the right
size, and the md5 of its sidecar (from the remote's hashes, or by downloading when
the remote has none); an object whose md5 was proved within `recheck_after`
(rex.remote.ledger) and that nothing has changed since is listed for its size only.
`triage` then decides what goes: nothing that matches; a new object as it is; a
copy that is wrong, cut short, or proved once and now gone is a repair, sent
(forced: damage in place keeps size and time, all rclone compares) only from a
local file that still matches its sidecar, since the remote copy may be the last
good one. What was sent is checked again: rclone may exit 0 having copied nothing,
and only the check decides what counts as uploaded.
"""

import hashlib
import os
import posixpath
import shutil
import tempfile
import time
from dataclasses import dataclass

from .. import checksum, errors, log, paths
from . import rclone
from .ledger import fingerprint, trusted
from ..durations import format_duration

LINK_SUFFIX = rclone.LINK_SUFFIX
UNREADABLE = "unreadable"     # the md5 of an object the download check could not read


@dataclass
class Item:
    """One thing to put on the remote: a real file, or a link to one under the root."""

    path: str                 # the local path
    rel: str                  # relative to the backup root, /-separated
    kind: str                 # "file" or "link"
    md5: str = None           # from the sidecar
    size: int = None
    target: str = None        # link: the target relative to the link's directory
    target_rel: str = None    # link: the target relative to the root
    record: bool = True       # printed when done (False: a link's target brought along)


@dataclass
class Problem:
    path: str
    message: str
    code: int = errors.PARTIAL


# ------------------------------------------------------------------ pure decisions

def relative_to_root(root, path):
    """`path` relative to `root` as a /-separated path, or None when it is not inside.

    Both are absolute and normalised by the caller; the root itself is not inside.
    """
    root = posixpath.normpath(root)
    path = posixpath.normpath(path)
    if root == "/":
        rel = path[1:]
    elif path.startswith(root + "/"):
        rel = path[len(root) + 1:]
    else:
        return None
    return rel or None


def selected(rel, include=(), exclude=()):
    """Whether `rel` passes the filters (paths.path_selected). A pattern with / is
    matched from the backup root, which it may start with a / to say: both it and
    `rel` are given exactly one leading / (`/P_*` is then only the top level)."""
    def rooted(patterns):
        return ["/" + p.strip("/") if "/" in p else p for p in patterns]

    return paths.path_selected("/" + rel, rooted(include), rooted(exclude))


def link_text(rel, target_rel):
    """The relative target a link at `rel` stores to reach `target_rel`."""
    return posixpath.relpath(target_rel, posixpath.dirname(rel) or ".")


def listable(rel):
    """rclone's file lists are line-based: a name with a line break cannot be in one."""
    return "\n" not in rel and "\r" not in rel


# ------------------------------------------------------------------ planning

class Planner:
    """Turns local paths into Items, once per remote object."""

    def __init__(self, root, include=(), exclude=()):
        self.root = os.path.realpath(root)
        self.include, self.exclude = list(include or ()), list(exclude or ())
        self.items, self.problems = [], []
        self._files = {}          # rel -> Item of every real file planned
        self._inodes = {}         # (dev, ino) -> rel of the real file planned for it
        self._links = {}          # rel -> Item of every link planned

    def add(self, path):
        """Plan one record; returns the Item, or None (a Problem recorded, or filtered out)."""
        try:
            return self._add(path)
        except OSError as exc:
            self.problems.append(Problem(path, f"{exc.strerror or exc}", errors.from_oserror(exc, path).code))
        except errors.RexError as exc:
            self.problems.append(Problem(path, exc.message, exc.code))
        return None

    def _problem(self, path, message, code=errors.PARTIAL):
        self.problems.append(Problem(path, message, code))

    def _add(self, path):
        if not os.path.lexists(path):
            return self._problem(path, "no such file or directory", errors.NOINPUT)
        if os.path.isdir(path) and not os.path.islink(path):
            from ..backups.sets import walk

            for backup in walk(path):
                self.add(backup.path)
            return None
        rel = relative_to_root(self.root, paths.real_parent(path))
        if rel is None:
            return self._problem(path, f"outside the backup root {self.root}; not uploaded")
        if path.endswith(checksum.SUFFIX):
            return self._problem(path, "a sidecar: give its backup, the sidecar goes with it")
        if not listable(rel):
            return self._problem(path, "a name with a line break cannot be uploaded (rclone's lists are "
                                       "line-based)")
        if not selected(rel, self.include, self.exclude):
            log.info(f"{path}: left out by upload.include/upload.exclude")
            return None
        st = os.lstat(path)
        md5 = self._sidecar_md5(path)
        if md5 is None:
            return None
        if os.path.islink(path):
            return self._link(path, rel, md5, os.path.realpath(path))
        if not os.path.isfile(path):
            return self._problem(path, "not a regular file")
        earlier = self._earlier_name(path, st)
        if earlier is not None:
            return self._link(path, rel, md5, earlier)
        return self._file(path, rel, md5, st, record=True)

    def _sidecar_md5(self, path):
        try:
            return checksum.read_sidecar(path)
        except FileNotFoundError:
            self._problem(path, f"no sidecar {os.path.basename(path)}{checksum.SUFFIX}: not a verified backup "
                                "(pass it through rex-verify)", errors.DATAERR)
        return None

    def _file(self, path, rel, md5, st, record):
        item = self._files.get(rel)
        if item is not None:
            item.record = item.record or record
            return item
        item = Item(path, rel, "file", md5=md5, size=st.st_size, record=record)
        self._files[rel] = item
        self._inodes[(st.st_dev, st.st_ino)] = rel
        self.items.append(item)
        return item

    def _earlier_name(self, path, st):
        """For a hard link, the real path of the name the remote keeps the bytes under:
        one planned already, else the first name of the same inode in the same directory."""
        from ..backups.sets import parse      # backups only: never a temporary or a sidecar

        if st.st_nlink < 2:
            return None
        planned = self._inodes.get((st.st_dev, st.st_ino))
        if planned is not None:
            return os.path.join(self.root, planned)
        directory, name = os.path.split(paths.real_parent(path))
        others = []
        with os.scandir(directory) as entries:
            for entry in entries:
                if entry.name != name and parse(entry.path) and entry.is_file(follow_symlinks=False):
                    est = entry.stat(follow_symlinks=False)
                    if (est.st_dev, est.st_ino) == (st.st_dev, st.st_ino):
                        others.append(entry.name)
        first = min(others + [name])
        return None if first == name else os.path.join(directory, first)

    def _link(self, path, rel, md5, target_real):
        target_rel = relative_to_root(self.root, target_real)
        if target_rel is None or not os.path.isfile(target_real):
            return self._problem(path, "a link whose target is missing or outside the backup root")
        if not listable(target_rel):
            return self._problem(path, "its target's name has a line break; cannot be uploaded")
        target_md5 = self._sidecar_md5(target_real)
        if target_md5 is None:
            return None
        self._file(target_real, target_rel, target_md5, os.stat(target_real), record=False)
        if rel in self._links:
            return self._links[rel]
        item = self._links[rel] = Item(path, rel, "link", md5=md5, size=os.path.getsize(target_real),
                    target=link_text(rel, target_rel), target_rel=target_rel)
        self.items.append(item)
        return item


# ------------------------------------------------------------------ uploading

@dataclass
class UploadResult:
    item: Item
    ok: bool
    action: str = None        # uploaded, repaired, linked, already-there, verified
    message: str = None
    code: int = errors.OK
    checked: str = None       # md5, or size (md5 proved at `verified`, or no md5 to be had)
    verified: float = None    # checked by size: when the md5 was last proved (seconds since the epoch)
    repaired: tuple = ()      # (rel, what was wrong) of the objects of this item sent again and now good


@dataclass
class _Expected:
    size: int
    md5: str
    source: str = None        # local file to copy (None: staged)
    local: tuple = None       # fingerprint of the local file (None: staged)


def _md5_bytes(data):
    return hashlib.md5(data).hexdigest()


# What a run does with each wanted object, decided from the listing made before anything is sent.
GOOD = "good"           # on the remote and matching (or trusted by the ledger): nothing to send
NEW = "new"             # not on the remote and never proved there: sent
REPAIR = "repair"       # on the remote but wrong, or proved there once and now gone: sent again only
#                         from a local file that still matches its sidecar, never over it from a bad one
UNCHECKED = "unchecked"  # of the right size, its md5 not to be had: rclone decides by size and time
ABSENT = "absent"       # --check: never sent (or never proved) there, so nothing to repair: only named


def triage(want, found, rows, trust, check_only):
    """{rel: GOOD, NEW, REPAIR or UNCHECKED} of every wanted object.

    `found` is the listing before the copy ({rel: (size, md5 or None)}), `rows` the
    ledger's ({rel: (size, md5, ...)}), `trust` the objects listed by size on the
    ledger's word. An object proved once with this content (a ledger row of the same
    size and md5) and now missing is a repair, not a new upload; `check_only` sends
    nothing new, so there an object never proved and not there is only named.
    """
    out = {}
    for rel, expected in want.items():
        got = found.get(rel)
        if _mismatch(rel, expected, got) is None:
            unchecked = got[1] is None and rel not in trust and not check_only
            out[rel] = UNCHECKED if unchecked else GOOD
        elif got is None and not _proved(rows.get(rel), expected):
            out[rel] = ABSENT if check_only else NEW
        else:
            out[rel] = REPAIR
    return out


def _proved(row, expected):
    """Whether a ledger row says this very content (size and md5) was once proved on the remote."""
    return row is not None and tuple(row[:2]) == (expected.size, expected.md5)


class Uploader:
    """Copies planned Items to `remote` and checks what arrived; repairs damaged copies."""

    def __init__(self, rclone_, remote, root, transfers=None, bwlimit=None, download_check=True, ledger=None,
                 recheck_after=None):
        self.rclone, self.program = rclone_, rclone_.program    # an rclone.Rclone
        self.remote, self.root = remote, os.path.realpath(root)
        self.transfers, self.bwlimit, self.download_check = transfers, bwlimit, download_check
        self.ledger, self.recheck_after = ledger, recheck_after    # an UploadLedger, seconds
        self._warned = False      # that only sizes can be checked

    def expected(self, items):
        """{remote object rel: _Expected} for every object the items need, sidecars included."""
        want = {}
        for item in items:
            side = item.rel + checksum.SUFFIX
            side_path = os.path.join(os.path.dirname(item.path), os.path.basename(item.path) + checksum.SUFFIX)
            with open(side_path, "rb") as f:
                data = f.read()
                local = fingerprint(os.fstat(f.fileno()))
            want[side] = _Expected(len(data), _md5_bytes(data), side, local)
            if item.kind == "file":
                want[item.rel] = _Expected(item.size, item.md5, item.rel,
                                           fingerprint(os.stat(item.path)))
            else:
                text = item.target.encode("utf-8", "surrogateescape")
                want[item.rel + LINK_SUFFIX] = _Expected(len(text), _md5_bytes(text))
        return want

    def run(self, items, check_only=False):
        """Check what the remote holds, send what is new, missing or damaged (`check_only`: nothing
        new), check what was sent; returns an UploadResult per Item. `check_only` checks every object by
        md5, whatever the ledger says."""
        want = self.expected(items)
        rows = self.ledger.rows(self.remote) if self.ledger is not None else {}
        use_ledger = self.recheck_after and not check_only
        trust = trusted(want, rows, set(), self.recheck_after, time.time()) if use_ledger else {}
        if trust:
            log.info(f"{len(trust)} object(s) matched their md5 within "
                     f"{format_duration(self.recheck_after)}: checking their sizes only")
        work = tempfile.mkdtemp(prefix="rex-upload-")
        try:
            found = self._verify(want, work, trust, before=True)
            fate = triage(want, found, rows, trust, check_only)
            wrong = {rel: _mismatch(rel, want[rel], found.get(rel)) for rel, f in fate.items() if f == REPAIR}
            bad_locals = self._check_locals(want, [rel for rel, f in fate.items() if f == REPAIR])
            forced = [rel for rel, f in fate.items() if f == NEW or (f == REPAIR and rel not in bad_locals)]
            lenient = [rel for rel, f in fate.items() if f == UNCHECKED]
            copied = self._copy(items, want, forced, lenient, work)
            sent = set(forced) | copied
            for rel in sent:
                found.pop(rel, None)
            if sent:
                found.update(self._verify({rel: want[rel] for rel in sent}, work))
                failed = [rel for rel in sent if _mismatch(rel, want[rel], found.get(rel))]
                bad_locals.update(self._check_locals(want, failed))      # say whether the local copy is to blame
        finally:
            shutil.rmtree(work, ignore_errors=True)
        repaired = {rel: wrong[rel] for rel in forced
                    if fate[rel] == REPAIR and (check_only or _proved(rows.get(rel), want[rel]))}
        outcomes = [self._outcome(item, want, found, sent, repaired, bad_locals, check_only, trust)
                    for item in items]
        if self.ledger is not None:
            self._remember(want, found, trust)
        return outcomes

    def _check_locals(self, want, rels):
        """{rel: why} of the objects `rels` whose local file does not match its sidecar (or cannot
        be read): a repair from one would overwrite a remote copy that may be the last good one."""
        bad = {}
        for rel in rels:
            source = want[rel].source
            if source is None:
                continue          # a staged link object: made from what the link says now
            path = os.path.join(self.root, *source.split("/"))
            try:
                md5 = checksum.md5_file(path)
            except OSError as exc:
                bad[rel] = f"cannot be read ({exc.strerror or exc})"
                continue
            if md5 != want[rel].md5:
                bad[rel] = f"does not match its sidecar either (md5 {md5})"
        return bad

    def _remember(self, want, found, trust):
        """Ledger: objects proved by md5 now are recorded, any object that failed is no longer trusted."""
        proved, failed = {}, []
        for rel, expected in want.items():
            got = found.get(rel)
            if _mismatch(rel, expected, got):
                failed.append(rel)
            elif rel not in trust and got[1] is not None:
                proved[rel] = expected
        self.ledger.update(self.remote, proved, failed)

    def _copy(self, items, want, forced, lenient, work):
        """Send the `forced` objects whatever the remote holds (rclone --ignore-times: a copy damaged
        in place keeps its size and time), and the `lenient` ones as rclone's size-and-time
        comparison decides; returns the lenient objects rclone says it copied."""
        copied = set()
        forced_files = [rel for rel in forced if want[rel].source is not None]
        for rels, force in ((forced_files, True), ([rel for rel in lenient if want[rel].source], False)):
            if rels:
                listing = rclone.write_list(work, "force" if force else "files", rels)
                result = self.rclone.run(rclone.copy_argv(self.program, self.root, self.remote, listing,
                                                          self.transfers, self.bwlimit, force=force), "copy")
                self._raise_if_run_wide(result, "rclone copy")
                if not force:
                    copied |= rclone.copied_objects(result.stderr) & set(rels)
        sending = set(forced)
        links = [item for item in items if item.kind == "link" and item.rel + LINK_SUFFIX in sending]
        if links:
            stage = os.path.join(work, "links")
            for item in links:
                dest = os.path.join(stage, *item.rel.split("/")) + LINK_SUFFIX
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                with open(dest, "wb") as f:
                    f.write(item.target.encode("utf-8", "surrogateescape"))
            result = self.rclone.run(rclone.copy_tree_argv(self.program, stage, self.remote, self.transfers,
                                                           self.bwlimit, force=True), "copy links")
            self._raise_if_run_wide(result, "rclone copy (links)")
        return copied

    def _raise_if_run_wide(self, result, what):
        """A failure of the whole run (remote down, refused, misconfigured) ends it;
        per-file failures are left to the check, which names each file."""
        if result.ok:
            return
        exc = rclone.failure(what, result.returncode, result.stderr)
        if exc.code != errors.PARTIAL:
            raise exc
        for line in rclone.messages(result.stderr)[-5:]:
            log.warning(f"rclone: {line}")

    def _verify(self, want, work, trust=(), before=False):
        """{rel: (size, md5 or None)} of the wanted objects found on the remote; the
        `trust`ed ones are listed without hashes (md5 None) and never downloaded.
        `before` anything is sent, a remote path that does not exist yet holds nothing."""
        found = {}
        full = [rel for rel in want if rel not in trust]
        results = self._listings(want, full, work, hashes=True)
        if trust:
            results += self._listings(want, sorted(trust), work, hashes=False)
        for result in results:
            if not result.ok:
                if before and rclone.not_found(result.stderr):
                    continue
                raise rclone.failure("rclone lsjson", result.returncode, result.stderr)
            found.update(rclone.parse_lsjson(result.stdout.decode("utf-8", "surrogateescape")))
        unhashed = [rel for rel, (size, md5) in found.items() if md5 is None and rel in want
                    and rel not in trust and size == want[rel].size]
        if unhashed and self.download_check:
            log.info(f"the remote has no md5: downloading {len(unhashed)} object(s) to check them")
            listing = rclone.write_list(work, "download", unhashed)
            result = self.rclone.run_tolerant(rclone.md5sum_download_argv(self.program, self.remote, listing,
                                                                          self.bwlimit),
                                              "rclone md5sum --download", warn_lines=0)
            sums = rclone.parse_md5sum(result.stdout.decode("utf-8", "surrogateescape"))
            for rel in unhashed:
                found[rel] = (found[rel][0], sums.get(rel, UNREADABLE))
        elif unhashed and not self._warned:
            self._warned = True
            log.warning("the remote has no md5 and upload.download_check is off: only sizes are checked")
        return found

    def _listings(self, want, rels, work, hashes):
        """The listings of the objects `rels`; with `hashes`, in `transfers` rclone runs at once:
        a remote that hashes on demand (sftp) then hashes several files at a time, as rclone
        copy does. Without, one run (a listing costs the remote no reading)."""
        from ..parallel import ordered_map

        if not rels:
            return []
        rels = sorted(rels, key=lambda rel: -want[rel].size)
        lanes = max(1, min(self.transfers or 4, len(rels) // 4 or 1)) if hashes else 1
        tag = "verify" if hashes else "sizes"
        argvs = [rclone.lsjson_argv(self.program, self.remote, rclone.write_list(work, f"{tag}{i}", rels[i::lanes]),
                                    hashes=hashes)
                 for i in range(lanes)]
        return list(ordered_map(lambda argv: self.rclone.run(argv, "lsjson"), argvs, lanes))

    def _outcome(self, item, want, found, sent, repaired, bad_locals, check_only, trust=()):
        needed = [item.rel + checksum.SUFFIX]
        if item.kind == "file":
            needed.append(item.rel)
        else:
            needed += [item.rel + LINK_SUFFIX, item.target_rel]
        for rel in needed:
            problem = _mismatch(rel, want.get(rel), found.get(rel))
            if problem:
                if rel in sent or rel in bad_locals:     # named in full: the remote copy and the local one
                    problem = rclone.join(self.remote, problem)
                local = "the local copy" if rel == item.rel else f"the local copy {os.path.join(self.root, rel)}"
                if rel in sent:
                    problem += " after it was sent" + (f"; {local} {bad_locals[rel]}" if rel in bad_locals else "")
                elif rel in bad_locals:
                    problem += f"; {local} {bad_locals[rel]}: neither is good, the remote copy is left as it is"
                return UploadResult(item, False, message=problem, code=errors.DATAERR)
        by_size = [rel for rel in needed if found[rel][1] is None]
        checked = "size" if by_size else "md5"
        verified = min((trust[rel] for rel in by_size if rel in trust), default=None)
        own = needed[:-1] if item.kind == "link" else needed      # a link's target is its own record
        fixed = tuple((rel, repaired[rel]) for rel in own if rel in repaired)
        if fixed:
            action = "repaired"
        elif check_only:
            action = "verified"
        elif item.kind == "link":
            action = "linked"
        else:
            action = "uploaded" if item.rel in sent else "already-there"
        return UploadResult(item, True, action, checked=checked, verified=verified, repaired=fixed)


def _mismatch(rel, expected, got):
    """Why the remote object `got` (size, md5) is not the `expected` one, or None."""
    if got is None:
        return f"{rel}: not on the remote"
    size, md5 = got
    if size != expected.size:
        return f"{rel}: {size} bytes on the remote, {expected.size} expected (partial or damaged)"
    if md5 == UNREADABLE:
        return f"{rel}: could not be read back from the remote"
    if md5 is not None and md5 != expected.md5:
        return f"{rel}: md5 on the remote {md5} does not match the sidecar's {expected.md5}"
    return None


def remote_lock_name(remote):
    """The job lock of one remote: two uploads to it never run at once."""
    return "upload-" + hashlib.sha1(remote.encode("utf-8", "surrogateescape")).hexdigest()[:16]
