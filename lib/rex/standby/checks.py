"""What streaming replication needs from a primary, and the exact fix for each
problem, as data: pure, so `prepare` and `prepare --apply` decide the same way."""

import ipaddress
from dataclasses import dataclass, field

MIN_VERSION_NUM = 120000     # standby.signal (pg_basebackup -R) and pg_promote()
MIN_WAL_SENDERS = 3          # two for pg_basebackup -X stream, one for the streaming standby
WANT_WAL_SENDERS = 10
WANT_SLOTS = 10


@dataclass(frozen=True)
class Facts:
    """What the primary said (see primary.facts)."""
    version_num: int
    wal_level: str
    max_wal_senders: int
    max_replication_slots: int
    role_exists: bool = False
    role_replication: bool = False
    role_login: bool = False
    role_password: bool = False
    slot_exists: bool = False
    hba_rules: tuple = ()       # rows of pg_hba_file_rules as dicts
    hba_file: str = "pg_hba.conf"
    pending: dict = field(default_factory=dict)   # values in the configuration files (pg_file_settings)


@dataclass(frozen=True)
class Problem:
    """One thing missing, the fix said to people, the SQL `--apply` runs (or None:
    only a person can fix it) and what makes it take effect (reload, restart or None)."""
    key: str
    message: str
    fix: str
    sql: tuple = ()
    needs: str = None
    secret: bool = field(default=False)   # the SQL needs the role's password

    def line(self):
        after = f" then {self.needs}" if self.needs else ""
        return f"{self.key}: {self.message}; fix: {self.fix}{after}"


def quote_ident(name):
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text):
    return "'" + text.replace("'", "''") + "'"


def _in_list(values, wanted, all_word):
    values = list(values or ())
    return wanted in values or all_word in values


def _address_matches(rule, address):
    """Whether a pg_hba rule's address (with its netmask) holds `address`."""
    target = ipaddress.ip_address(address)
    text, mask = rule.get("address"), rule.get("netmask")
    if text in ("all",):
        return True
    if text == "samehost":
        return target.is_loopback
    if not text:
        return False
    try:
        if mask:
            prefix = bin(int(ipaddress.ip_address(mask))).count("1")
            net = ipaddress.ip_network(f"{text}/{prefix}", strict=False)
        else:
            net = ipaddress.ip_network(text, strict=False)
    except ValueError:
        return False    # a host name or samenet: not judged here
    return target.version == net.version and target in net


def hba_rule_for(rules, role, address):
    """The first pg_hba rule a replication connection of `role` from `address` meets
    (pg_hba.conf is first match), or None."""
    for rule in rules:
        if rule.get("error") or rule.get("type") not in ("host", "hostssl", "hostnossl"):
            continue
        if "replication" not in (rule.get("database") or ()):
            continue
        if not _in_list(rule.get("user_name"), role, "all"):
            continue
        if _address_matches(rule, address):
            return rule
    return None


def hba_line(role, address):
    net = ipaddress.ip_network(address)
    return f"host replication {role} {net.with_prefixlen} scram-sha-256"


def problems(facts, role, slot, address):
    """Every problem that keeps a standby of `role` on `address` with slot `slot`
    from streaming, in the order they are best fixed."""
    found = []

    def setting(key, message, good, value):
        """A setting problem: ALTER SYSTEM, or only the restart when the files already say `value`."""
        pending = facts.pending.get(key)
        if pending is not None and good(pending):
            found.append(Problem(key, f"{message}; {pending} is set and waits for a restart", "restart the server"))
        else:
            found.append(Problem(key, message, f"ALTER SYSTEM SET {key} = {value};",
                                 (f"ALTER SYSTEM SET {key} = {value}",), "restart"))

    if facts.version_num < MIN_VERSION_NUM:
        found.append(Problem("server_version", f"server is {facts.version_num}, a standby needs PostgreSQL 12 or newer",
                             "upgrade the primary (pg_upgrade or dump and restore)"))
    if facts.wal_level not in ("replica", "logical"):
        setting("wal_level", f"is {facts.wal_level}, needs replica", lambda v: v in ("replica", "logical"),
                "'replica'")
    if facts.max_wal_senders < MIN_WAL_SENDERS:
        setting("max_wal_senders", f"is {facts.max_wal_senders}, needs at least {MIN_WAL_SENDERS}",
                lambda v: int(v) >= MIN_WAL_SENDERS, WANT_WAL_SENDERS)
    if facts.max_replication_slots < 1:
        setting("max_replication_slots", f"is {facts.max_replication_slots}, needs at least 1",
                lambda v: int(v) >= 1, WANT_SLOTS)
    ident = quote_ident(role)
    if not facts.role_exists:
        found.append(Problem("role", f"role {role} does not exist",
                             f"CREATE ROLE {ident} WITH LOGIN REPLICATION PASSWORD '...';",
                             (f"CREATE ROLE {ident} WITH LOGIN REPLICATION",)))
    elif not (facts.role_replication and facts.role_login):
        found.append(Problem("role", f"role {role} lacks LOGIN or REPLICATION",
                             f"ALTER ROLE {ident} WITH LOGIN REPLICATION;",
                             (f"ALTER ROLE {ident} WITH LOGIN REPLICATION",)))
    if not facts.role_exists or not facts.role_password:
        found.append(Problem("password", f"role {role} has no password",
                             f"ALTER ROLE {ident} PASSWORD '...'; (rex-standby prepare --apply reads it from "
                             "REX_STANDBY_PASSWORD or --password-file)", ("PASSWORD",), secret=True))
    if hba_rule_for(facts.hba_rules, role, address) is None:
        found.append(Problem("pg_hba", f"no replication line for {role} from {address} in {facts.hba_file}",
                             f"add the line '{hba_line(role, address)}' to {facts.hba_file} before any line "
                             "that rejects it", (), "reload (SELECT pg_reload_conf())"))
    if not facts.slot_exists:
        found.append(Problem("slot", f"physical replication slot {slot} does not exist",
                             f"SELECT pg_create_physical_replication_slot({quote_literal(slot)}, true);",
                             (f"SELECT pg_create_physical_replication_slot({quote_literal(slot)}, true)",)))
    return found


def blocked_until_restart(found):
    """Whether the slot cannot be made yet (no slots or WAL level too low until a restart)."""
    return any(p.key in ("wal_level", "max_replication_slots") for p in found)
