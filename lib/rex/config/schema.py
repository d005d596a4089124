"""The one description of every configuration key.

It drives validation (`config`), the defaults, the commented sample written by
`rex-config generate`, and the key list in rex.5 (both made by `config.sample`).
A key named `section.key` lives under `section:` in the YAML file.
"""

from dataclasses import dataclass

from ..durations import format_duration


@dataclass(frozen=True)
class Key:
    name: str
    type: str                 # str, path, int, bool, duration, enum, list, height, remote, rules,
                              # policies, monitors, job-monitors, intervals, host-files
    default: object
    doc: str
    env: tuple = ()           # environment variables, first set wins
    choices: tuple = ()
    minimum: int = None
    maximum: int = None
    example: object = None
    record: object = None     # rules, policies, monitors: the Record of each entry (monitors: one per kind)

    @property
    def section(self):
        return self.name.split(".")[0] if "." in self.name else None

    @property
    def leaf(self):
        return self.name.rsplit(".", 1)[-1]


SECTIONS = {
    None: "Settings shared by every command.",
    "pgdump": "rex-pgdump: dump the PostgreSQL project libraries.",
    "verify": "rex-verify: prove that backups are intact.",
    "restore": "rex-restore: bring back a dump as a new library, or a project file as a new project.",
    "dedupe": "rex-dedupe: keep one copy of unchanged backups.",
    "prune": "rex-prune: remove old backups by a retention policy. "
             "The keep_* keys are the policy of every set that no entry of policies matches; "
             "0 means none of that kind, and with no rule at all rex-prune refuses to run.",
    "upload": "rex-upload: copy verified backups to an rclone remote, checked against their sidecars.",
    "export": "rex-export: export Resolve projects when the user is idle.",
    "proxy": "proxy-encode: make proxy media that Resolve links to its sources.",
    "scan": "proxy-scan: find the clips that need proxies.",
    "link": "proxy-link: link finished proxies to their clips in Resolve.",
    "farm": "proxy-encode --farm and proxy-worker: proxy encodes on every free machine, through Redis.",
    "standby": "rex-standby: a warm standby of the project database, and the thresholds of its check.",
    "report": "rex-report: tell monitors when a scheduled job starts, succeeds or fails. "
              "A monitor that cannot be reached never fails the job.",
    "daemon": "rexd: the suite's jobs on their schedules, in one process, where there is no systemd or launchd.",
    "history": "The run history: every start, success and failure rex-report (and rexd) sees, kept in the state "
               "directory for rex-web, and every event other hosts post to rex-web.",
    "web": "rex-web: the read-only status page and its JSON API.",
}

# What rex-report sends (MONITORS below says where to).
REPORT_EVENTS = ("start", "success", "failure")

# The proxy presets (rex.media.presets holds their ffmpeg arguments).
PROXY_PRESETS = ("prores_proxy", "prores_lt", "dnxhr_lb", "dnxhr_sq", "h264_intra")

# The retention keys, the one list: the prune.* and upload.* keys, the entries of
# policies (config.types), rex-prune's options and rex.retention.policy.Policy all come
# from it. (key, type, default, what it keeps)
RETENTION = (
    ("keep_last", "int", 0, "Keep the N newest backups of each set."),
    ("keep_within", "duration", None,
     "Keep every backup younger than this, counted back from the newest backup of the set."),
    ("keep_hourly", "int", 0, "Keep the newest backup of each of the N latest hours that have one (UTC)."),
    ("keep_daily", "int", 0, "Keep the newest backup of each of the N latest days that have one (UTC)."),
    ("keep_weekly", "int", 0, "Keep the newest backup of each of the N latest ISO weeks that have one."),
    ("keep_monthly", "int", 0, "Keep the newest backup of each of the N latest months that have one."),
    ("keep_yearly", "int", 0, "Keep the newest backup of each of the N latest years that have one."),
)
RETENTION_KEYS = tuple(key for key, *_ in RETENTION)


# --- nested values: the entries of rules, policies and monitors ------------------------------
# A Record is one entry of such a list; config.types walks it (every problem at its spot),
# config.sample lists its fields in the sample and in rex.5. Field types, each with the
# problem config.types reports: strings (a string or a list of them), patterns (the same,
# not empty), pixels and count (whole numbers >= 0), duration, choice (one of choices),
# events (a list of REPORT_EVENTS), url (http(s) URL or $NAME), switch (true or false),
# string, env-name; or a Record (a nested mapping).

UNSET = object()     # a field left out is left out of the clean value


@dataclass(frozen=True)
class Field:
    name: str
    type: object              # a field type named above, or a Record
    doc: str
    required: object = False  # True: absent is a problem of its type; a text: the problem when absent
    choices: tuple = ()
    default: object = UNSET   # what the clean value holds when the field is absent


@dataclass(frozen=True)
class Record:
    noun: str                 # rule 2: ..., policy 3: ...
    fields: tuple
    check: object = None      # clean value -> a problem with the whole entry, or None
    shape: str = "a mapping"  # what an entry must be

    @property
    def names(self):
        return tuple(f.name for f in self.fields)


RULE_MATCH = Record("match", (
    Field("ext", "strings", "File extensions (any case, no dot), one or a list."),
    Field("glob", "strings", "Shell patterns of the source path (one without / matches the file name), "
          "one or a list."),
    Field("min_height", "pixels", "Only sources at least this many pixels high."),
    Field("max_height", "pixels", "Only sources at most this many pixels high."),
    Field("min_width", "pixels", "Only sources at least this many pixels wide."),
    Field("max_width", "pixels", "Only sources at most this many pixels wide."),
))

RULE = Record("rule", (
    Field("match", RULE_MATCH, "What a clip must be for the rule to apply (every condition given); "
          "an empty match takes every clip.", default={}),
    Field("preset", "choice", "The preset of the clips it matches.", required=True, choices=PROXY_PRESETS),
), shape="a mapping with match and preset")


def _keeps_something(policy):
    if not any(policy.get(key) for key in RETENTION_KEYS):
        return "keeps nothing by rule; give at least one keep_* key above 0"
    return None


POLICY = Record("policy", (
    Field("match", "patterns", "The sets it applies to: shell patterns, one or a list (one without / matches "
          "NAME.EXT of the set, one with / its whole path DIR/NAME.EXT).",
          required="no match (the sets it applies to)"),
    *(Field(key, "duration" if kind == "duration" else "count", doc) for key, kind, _default, doc in RETENTION),
), check=_keeps_something, shape="a mapping with match and keep_* keys")

_EVENTS = "Which of " + ", ".join(REPORT_EVENTS) + " to send"
_TOKEN = Field("token", "string", "A bearer token sent with each message.", default=None)
_TOKEN_ENV = Field("token_env", "env-name", "The name of an environment variable holding the token.",
                   default=None)
_TOKEN_FILE = Field("token_file", "path", "A file whose first line is the token (wins over token_env and token; "
                    "a file that cannot be read is a warning and the message is not sent).", default=None)
_ALL_EVENTS = Field("events", "events", _EVENTS + " (default: all three).", default=list(REPORT_EVENTS))
_FAILURES = Field("events", "events", _EVENTS + " (default: failure).", default=["failure"])


def _monitor(kind, target, doc, *options):
    return Record("monitor", (Field(kind, target, doc, required=True), *options),
                  shape="a mapping such as healthchecks: URL")


# One Record per kind of monitor: an entry names exactly one kind (rex.monitor holds a module per kind).
MONITORS = {
    "healthchecks": _monitor("healthchecks", "url", "A ping URL: start goes to URL/start, success to URL, "
                             "failure to URL/fail or URL/STATUS, with the log tail as body.", _ALL_EVENTS),
    "ntfy": _monitor("ntfy", "url", "A topic URL.", _FAILURES, _TOKEN, _TOKEN_ENV, _TOKEN_FILE),
    "webhook": _monitor("webhook", "url", "A URL that receives JSON: job, event, exit_status, host, time, "
                        "log_tail.", _ALL_EVENTS, _TOKEN, _TOKEN_ENV, _TOKEN_FILE),
    "desktop": _monitor("desktop", "switch", "true: a desktop notification, for user jobs.", _FAILURES),
}
MONITOR_KINDS = tuple(MONITORS)


def _when_or_after(job):
    if (job.get("when") is None) == (job.get("after") is None):
        return "give either when (a schedule) or after (the job it follows), not both"
    return None


DAEMON_JOB = Record("job", (
    Field("name", "job-name", "The job's name: in reports (report.jobs), the run history, rexd --run.",
          required="no name"),
    Field("when", "when", "Its schedule: hourly at :MM, daily at HH:MM, weekly on DAY at HH:MM or every N "
          "minutes; then UTC (the default) or in ZONE, an IANA time zone such as Europe/Paris.", default=None),
    Field("after", "job-name", "Instead of a schedule: run right after this job succeeds.", default=None),
    Field("run", "pipeline", "The command line, run by bash -o pipefail -c, as the units run it.",
          required="no run (the command line to run)"),
    Field("delay", "duration", "Start each run up to this much later, at random (as RandomizedDelaySec=).",
          default=0.0),
), check=_when_or_after, shape="a mapping with name, when (or after) and run")

KEYS = [
    Key("backup_root", "path", None,
        "Directory that holds every backup. Default: $XDG_DATA_HOME/rex/backups.",
        env=("REX_BACKUP_ROOT",), example="/srv/rex/backups"),
    Key("proxy_root", "path", None,
        "Directory under which proxies mirror their sources' paths. "
        "Unset: each proxy goes in a folder next to its source (proxy.subfolder).",
        env=("REX_PROXY_ROOT",), example="/srv/proxies"),
    Key("lock_wait", "duration", 60,
        "How long a run waits for another run of the same job before it gives up (exit 75).",
        env=("REX_LOCK_WAIT",)),
    Key("pgdump.host", "str", None,
        "Database server host name or socket directory (libpq default when unset).",
        env=("PGHOST",), example="resolve-db.local"),
    Key("pgdump.port", "int", None, "Database server port (Resolve always uses 5432).",
        env=("PGPORT",), minimum=1, maximum=65535, example=5432),
    Key("pgdump.username", "str", "postgres", "Database user (Resolve's default is postgres).",
        env=("PGUSER",)),
    Key("pgdump.passfile", "path", None,
        "A libpq password file. Passwords never go in this file or on the command line.",
        env=("PGPASSFILE",), example="/etc/rex/pgpass"),
    Key("pgdump.databases", "list", [],
        "Project libraries to dump when none are named and --all is not given.",
        example=["Resolve Projects"]),
    Key("pgdump.all", "bool", False, "Dump every non-template database (as --all)."),
    Key("pgdump.include_postgres", "bool", False, "With --all, dump the postgres database too."),
    Key("pgdump.exclude", "list", [], "Glob patterns of databases that --all skips.",
        example=["scratch_*"]),
    Key("pgdump.compression", "int", 6,
        "Compression level for pg_dump -Z (0 none, 1 fastest, 9 smallest).", minimum=0, maximum=9),
    Key("pgdump.globals", "bool", False,
        "Also write pg_dumpall --globals-only (roles, tablespaces) beside the dumps."),
    Key("pgdump.pg_dump", "path", None,
        "The pg_dump to use. Default: the one whose major version matches the server.",
        example="/usr/lib/postgresql/13/bin/pg_dump"),
    Key("pgdump.server_name", "str", None,
        "Directory name for this server under the backup root. Default: HOST_PORT."),
    Key("pgdump.connect_timeout", "int", 10, "Seconds to wait for the server to answer.",
        minimum=1, maximum=3600),
    Key("pgdump.timeout", "duration", "6h", "Longest time one pg_dump may run."),
    Key("verify.jobs", "int", 0, "Files hashed at once (0: one per processor core).",
        minimum=0, maximum=256),
    Key("verify.older_than", "duration", None,
        "Only re-verify backups not verified within this time (as --older-than).", example="7d"),
    Key("verify.deep", "bool", False,
        "Restore each .backup into a throwaway database and compare table and row counts."),
    Key("verify.host", "str", None,
        "Server for --deep restores. Unset: a scratch cluster is started for the run.",
        example="127.0.0.1"),
    Key("verify.port", "int", None, "Port of the --deep server.", minimum=1, maximum=65535, example=5432),
    Key("verify.username", "str", "postgres", "User on the --deep server (needs CREATEDB)."),
    Key("verify.passfile", "path", None, "libpq password file for the --deep server.",
        example="/etc/rex/pgpass"),
    Key("restore.host", "str", None,
        "Server that --as and --drop work on. Unset: the server in the dump's place under the backup "
        "root (HOST_PORT), else the libpq default.", env=("PGHOST",), example="resolve-db.local"),
    Key("restore.port", "int", None, "Port of that server.", env=("PGPORT",), minimum=1, maximum=65535,
        example=5432),
    Key("restore.username", "str", "postgres", "Database user (needs CREATEDB).", env=("PGUSER",)),
    Key("restore.passfile", "path", None,
        "A libpq password file. Passwords never go in this file or on the command line.",
        env=("PGPASSFILE",), example="/etc/rex/pgpass"),
    Key("restore.connect_timeout", "int", 10, "Seconds to wait for the server to answer.",
        minimum=1, maximum=3600),
    Key("restore.pg_restore", "path", None,
        "The pg_restore to use. Default: the one whose major version matches the server.",
        example="/usr/lib/postgresql/13/bin/pg_restore"),
    Key("restore.timeout", "duration", "6h", "Longest time one restore may run."),
    Key("restore.verify", "bool", True,
        "Check the sidecar checksum (and the format) before restoring or importing; "
        "a backup without a sidecar is refused."),
    Key("standby.slot", "str", "rex_standby", "The physical replication slot the standby streams from."),
    Key("standby.role", "str", "replicator", "The replication role rex-standby prepare checks and creates."),
    Key("standby.warn", "str", "16MB,5m",
        "rex-standby status is WARNING from this many bytes or this long behind (SIZE,DURATION)."),
    Key("standby.crit", "str", "256MB,10m",
        "rex-standby status is CRITICAL from this many bytes or this long behind (SIZE,DURATION)."),
    Key("dedupe.link", "enum", "symlink",
        "How an unchanged backup points at the earlier copy: a relative symlink, or a hard link.",
        choices=("symlink", "hardlink")),
    *(Key(f"prune.{key}", kind, default, doc, minimum=None if kind == "duration" else 0,
          example="2d" if kind == "duration" else None) for key, kind, default, doc in RETENTION),
    Key("prune.policies", "policies", [],
        "Per-set policies, first match wins: each a mapping of the fields below, a match and keep_* keys. "
        "A policy is whole: the keep keys it leaves out are 0.", record=POLICY,
        example=[{"match": "*.backup", "keep_within": "2d", "keep_daily": 30, "keep_monthly": 24},
                 {"match": "*.drp", "keep_last": 24, "keep_daily": 14, "keep_weekly": 8}]),
    Key("prune.allow_unverified", "bool", False,
        "Prune a set none of whose backups rex-verify found good, by its policy alone (as --allow-unverified). "
        "By default such a set is left whole and named, and rex-prune exits 1."),
    Key("export.stills", "bool", True, "Include stills and LUTs in each exported project."),
    Key("export.idle", "duration", None,
        "Wait until the user has been idle this long before exporting (as --idle, in minutes there).",
        example="5m"),
    Key("export.max_wait", "duration", "2h", "Wait for idleness at most this long."),
    Key("export.on_timeout", "enum", "export",
        "What to do when the user stayed active for max_wait: export anyway, or skip this run.",
        choices=("export", "skip")),
    Key("export.countdown", "duration", "30s",
        "After a desktop notification, wait this long before exporting (0: no countdown)."),
    Key("export.idle_command", "str", None,
        "A command that prints the user's idle time in milliseconds (overrides the built-in sources).",
        example="xprintidle"),
]

KEYS += [
    Key("proxy.subfolder", "str", "Proxy",
        "Folder next to each source that holds its proxy when no proxy root is set (Resolve's convention)."),
    Key("proxy.preset", "enum", "prores_proxy",
        "Preset for clips that no rule matches.", choices=PROXY_PRESETS),
    Key("proxy.height", "height", "half",
        "Proxy height: pixels (720, 1080, ...) or original, half, quarter, eighth, sixteenth of the source. "
        "Never larger than the source."),
    Key("proxy.rules", "rules", [],
        "Rules that choose a preset, first match wins: each a mapping of the fields below.", record=RULE,
        example=[{"match": {"ext": ["mxf", "braw"]}, "preset": "dnxhr_lb"}]),
    Key("proxy.jobs", "int", 0, "Encodes at once (0: one per processor core).", minimum=0, maximum=256),
    Key("proxy.threads", "int", 0, "Threads per encode (0: the cores shared among the jobs).",
        minimum=0, maximum=256),
    Key("proxy.nice", "int", 10, "Scheduling niceness of the encodes, so Resolve stays responsive (0: none).",
        minimum=0, maximum=19),
    Key("proxy.ffmpeg", "path", None, "The ffmpeg to use. Default: ffmpeg on PATH.", example="/usr/bin/ffmpeg"),
    Key("proxy.ffprobe", "path", None, "The ffprobe to use. Default: ffprobe on PATH.",
        example="/usr/bin/ffprobe"),
]

KEYS += [
    Key("farm.redis_url", "str", None,
        "The farm's Redis (redis://HOST:PORT/DB, rediss:// or unix://), without a password.",
        env=("REX_FARM_URL",), example="redis://server.local:6379/0"),
    Key("farm.password_file", "path", None,
        "A file whose first line is the Redis password (REX_FARM_PASSWORD wins). Never put it in the URL.",
        example="/etc/rex/farm-password"),
    Key("farm.path_map", "pathmap", {},
        "On a worker: where the queuer's media and proxy folders are here, as QUEUER_PATH: WORKER_PATH "
        "(longest prefix wins, whole path components only).", example={"/Volumes/Media": "/mnt/media"}),
    Key("farm.wait", "duration", "3m",
        "How long proxy-encode --farm waits for a worker of its version (and for a lost Redis) before it "
        "falls back or stops with 75."),
    Key("farm.fallback", "enum", "none", "With no worker after farm.wait: local (encode here) or none (exit 75).",
        choices=("none", "local")),
    Key("farm.on_cancel", "enum", "finish",
        "When the queuer is interrupted: its queued jobs are cancelled; running ones finish, or stop.",
        choices=("finish", "stop")),
    Key("farm.chunk_over", "duration", "10m",
        "Clips longer than this are cut into chunks encoded by several workers and joined."),
    Key("farm.chunk_length", "duration", "2m",
        "The longest chunk of a long clip: it is cut on frames into as few chunks of equal length as this "
        "allows. Shorter chunks spread a clip over more workers; each costs a job and a seek."),
]

KEYS += [
    Key("scan.extensions", "list", ["mov", "mp4", "m4v", "mxf", "avi", "mkv", "mts", "m2ts", "mpg", "mpeg",
                                    "webm", "3gp", "braw", "r3d", "ari", "crm", "insv", "lrv"],
        "File extensions (any case, no dot) of the clips to scan; an empty list takes every file."),
    Key("scan.include", "list", [],
        "Only paths matching one of these shell patterns (a pattern without / matches the file name).",
        example=["/Volumes/Media/*"]),
    Key("scan.exclude", "list", [], "Leave out paths matching any of these shell patterns.",
        example=["*_PROXY.*"]),
    Key("scan.fps", "list", [],
        "Only clips of these frame rates; 23.976, 29.97 and 59.94 match the exact NTSC rates.",
        example=["23.976", "25"]),
    Key("scan.min_resolution", "str", None,
        "Only clips at least this large: WIDTHxHEIGHT, or a height.", example="1920x1080"),
    Key("scan.relink", "bool", False, "Include clips whose proxy is already linked and online."),
    Key("link.confirm_over", "int", 50,
        "On a terminal, ask once before linking more than this many clips (0: never ask).",
        minimum=0),
]

KEYS += [
    Key("upload.remote", "remote", None,
        "Where backups go: an rclone remote and path (REMOTE:PATH); the layout under the backup root is "
        "kept below it.", env=("REX_UPLOAD_REMOTE",), example="offsite:rex/backups"),
    Key("upload.rclone", "path", None, "The rclone to use. Default: rclone on PATH.", example="/usr/bin/rclone"),
    Key("upload.rclone_config", "path", None,
        "rclone's configuration file, passed to rclone as RCLONE_CONFIG (under systemd rclone has no HOME "
        "to find its own). Credentials belong there or in RCLONE_CONFIG_* variables, never in the remote.",
        env=("RCLONE_CONFIG",), example="/etc/rex/rclone.conf"),
    Key("upload.transfers", "int", 4, "Files copied at once.", minimum=1, maximum=256),
    Key("upload.bwlimit", "str", None,
        "Bandwidth limit, as rclone's --bwlimit: a rate such as 10M, or a timetable such as "
        "\"08:00,2M 19:00,off\".", env=("REX_UPLOAD_BWLIMIT",), example="10M"),
    Key("upload.download_check", "bool", True,
        "When the remote keeps no md5, download each uploaded file to check it; off: sizes only."),
    Key("upload.recheck_after", "duration", "30d",
        "Read a remote copy's md5 again (remote hashing, or a download) only this long after it last "
        "matched; until then a copy whose local backup and sidecar are unchanged, and which this run did "
        "not send, is checked by its size (0: always by md5)."),
    Key("upload.include", "list", [],
        "Only backups matching one of these shell patterns (one without / matches the file name, one with / "
        "the path under the backup root; * crosses directories).",
        example=["*.backup", "projects/Job 42/*"]),
    Key("upload.exclude", "list", [], "Leave out backups matching any of these shell patterns.",
        example=["scratch/*"]),
    Key("upload.timeout", "duration", "12h", "Longest time one rclone run may take."),
    Key("report.monitors", "monitors", [],
        "Monitors told about every job that has none of its own in jobs. "
        "Each is a mapping with exactly one kind (" + ", ".join(MONITOR_KINDS) + ") and the options of that "
        "kind, as below. A URL written $NAME is read from that environment variable, "
        "so secrets can stay in an environment file.", record=MONITORS,
        example=[{"healthchecks": "https://hc-ping.com/UUID"}, {"ntfy": "https://ntfy.sh/rex-studio"}]),
    Key("report.jobs", "job-monitors", {},
        "Monitors of single jobs, by job name (rex-pgdump, rex-pgdump@PROFILE, rex-verify, rex-prune, "
        "rex-upload, rex-export, rex-proxy, rex-prune-exports): a job listed here is reported to its own "
        "list (each entry as in monitors) instead of monitors; an empty list silences it.",
        example={"rex-pgdump": [{"healthchecks": "https://hc-ping.com/UUID2"}]}),
    Key("report.timeout", "duration", "10s",
        "How long to wait for a monitor to connect, and then for each read of its answer."),
    Key("report.retries", "int", 2,
        "Retries after a monitor refused the connection, timed out or answered 429 or 5xx "
        "(with a growing pause between tries).", minimum=0, maximum=5),
    Key("report.tail_lines", "int", 20,
        "Lines of the job's log sent with a failure (at most 100 kB of them).", minimum=0, maximum=1000),
]


KEYS += [
    Key("daemon.jobs", "daemon-jobs", [],
        "The jobs rexd runs, each a mapping of the fields below. A run still going when the next is due is "
        "skipped; a run missed while rexd was down runs once when it starts.", record=DAEMON_JOB,
        example=[{"name": "rex-pgdump", "when": "hourly at :00", "run": "rex-pgdump --all | rex-verify",
                  "delay": "5m"},
                 {"name": "rex-upload", "after": "rex-pgdump", "run": "rex-upload --sync"}]),
    Key("daemon.stop_timeout", "duration", "5m",
        "When rexd is told to stop, how long a running job may go on before its processes are terminated."),
]


# A host name as the run history keys runs by (and web.hosts names them): no path, no option.
HOST_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$"

# The kinds of backup set rex-web tells apart, and how often each is expected by default.
BACKUP_KINDS = ("dump", "export", "globals", "other")
EXPECT = Record("interval", tuple(
    Field(kind, "duration", doc, default=default) for kind, doc, default in (
        ("dump", "Library dumps (rex-pgdump, .backup).", 86400.0),
        ("export", "Project exports (rex-export, .drp).", 86400.0),
        ("globals", "Roles and tablespaces (rex-pgdump --globals).", 86400.0),
        ("other", "Any other backup set.", 7 * 86400.0))), shape="a mapping such as dump: 1d")

KEYS += [
    Key("history.keep", "duration", "90d", "Runs older than this are removed from the run history."),
    Key("history.max_rows", "int", 10000, "The run history keeps at most this many runs, the newest.",
        minimum=100, maximum=10_000_000),
    Key("web.listen", "str", "127.0.0.1:8470",
        "Address and port rex-web listens on (as --listen). Anything beyond loopback needs a token."),
    Key("web.token_file", "path", None,
        "A file holding the bearer token the page and the API require (else REX_WEB_TOKEN); required "
        "when listening beyond loopback. It also posts events, for any host not in web.hosts.",
        example="/etc/rex/web-token"),
    Key("web.hosts", "host-files", {},
        "The hosts that post their runs with a token of their own, each host name mapped to the file holding "
        "its token: a post with host H's token records only runs of H (one naming another host is refused, "
        "403), and no other token may post runs of H. These tokens only post events: reading the page and "
        "the API takes web.token_file's. Give every host that posts its own token; the shared token "
        "(web.token_file, REX_WEB_TOKEN) posts runs of any host not listed here.",
        example={"bay1": "/etc/rex/web-bay1.token", "render2": "/etc/rex/web-render2.token"}),
    Key("web.expect", "intervals", {f.name: format_duration(f.default) for f in EXPECT.fields},
        "How often a backup of each kind of set is expected, by kind: dump (rex-pgdump's .backup), export "
        "(rex-export's .drp), globals (rex-pgdump --globals), other; a kind left out keeps its default. "
        "A set whose newest backup is older than this times stale_factor is STALE; 0 expects nothing.",
        example={"dump": "1d", "export": "12h"}),
    Key("web.stale_factor", "int", 2,
        "How many expected intervals a set may miss before it is STALE (absorbs a late or slow run).",
        minimum=1, maximum=100),
    Key("web.rescan", "duration", "30s",
        "How often rex-web looks at every directory of the backup tree again (by its time; only those that "
        "changed are read): where inotify works (Linux) a change is seen at the next request and this is a "
        "safety net, elsewhere it bounds how long a change goes unseen."),
    Key("web.standby", "str", None,
        "The server whose replication the page shows (HOST or HOST:PORT, the primary or the standby), "
        "checked with standby.slot, standby.warn and standby.crit; unset: no standby section.",
        example="resolve-db.local:5432"),
]


def _remote_retention_keys():
    """upload.keep_* and upload.policies: rex-prune's retention keys, for the remote
    (rex-upload --prune-remote), which follows prune.* while none of these is set."""
    import dataclasses

    keys = []
    for key in KEYS:
        if key.section == "prune" and (key.leaf.startswith("keep_") or key.leaf == "policies"):
            doc = "On the remote (rex-upload --prune-remote): " + key.doc[0].lower() + key.doc[1:]
            if key.leaf == "keep_last":
                doc += " While no upload.keep_* nor upload.policies is set, the remote follows prune.*."
            if key.leaf == "policies":
                doc += (" A pattern with / is matched against the set's local path BACKUP_ROOT/DIR/NAME.EXT, "
                        "as in prune.policies, whether or not the set is still on the local disk.")
            keys.append(dataclasses.replace(key, name="upload." + key.leaf, doc=doc))
    return keys


KEYS += _remote_retention_keys()

BY_NAME = {k.name: k for k in KEYS}


def keys_in(section):
    return [k for k in KEYS if k.section == section]
