"""The primary's side: asking what replication needs, applying the SQL-level fixes,
and reading the replication views. Each question is one query returning one JSON value."""

import json

from ..pg.server import query
from . import checks

FACTS_SQL = """
SELECT json_build_object(
  'version_num', current_setting('server_version_num')::int,
  'wal_level', current_setting('wal_level'),
  'max_wal_senders', current_setting('max_wal_senders')::int,
  'max_replication_slots', current_setting('max_replication_slots')::int,
  'role', (SELECT json_build_object('replication', rolreplication, 'login', rolcanlogin,
                                    'password', rolpassword IS NOT NULL)
           FROM pg_authid WHERE rolname = {role}),
  'slot', EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = {slot}),
  'hba_file', current_setting('hba_file'),
  'pending', (SELECT json_object_agg(name, setting) FROM (
                SELECT DISTINCT ON (name) name, setting FROM pg_file_settings
                WHERE name IN ('wal_level', 'max_wal_senders', 'max_replication_slots')
                ORDER BY name, seqno DESC) f),
  'hba', (SELECT coalesce(json_agg(r ORDER BY line_number), '[]')
          FROM (SELECT line_number, type, database, user_name, address, netmask, auth_method, error
                FROM pg_hba_file_rules) r))
"""


def one_json(server, sql, database="postgres"):
    rows = query(server, sql, database=database)
    return json.loads(rows[0]) if rows else None


def facts(server, role, slot):
    """The Facts of a primary for `role` and `slot` (needs a superuser: pg_authid, pg_hba_file_rules)."""
    got = one_json(server, FACTS_SQL.format(role=checks.quote_literal(role), slot=checks.quote_literal(slot)))
    who = got.get("role") or {}
    return checks.Facts(got["version_num"], got["wal_level"], got["max_wal_senders"], got["max_replication_slots"],
                        role_exists=bool(who), role_replication=bool(who.get("replication")),
                        role_login=bool(who.get("login")), role_password=bool(who.get("password")),
                        slot_exists=bool(got["slot"]), hba_rules=tuple(got.get("hba") or ()),
                        hba_file=got.get("hba_file") or "pg_hba.conf", pending=got.get("pending") or {})


def apply(server, found, role, password):
    """Run the SQL of every fixable problem (the slot only once the server can hold one),
    reload, and return the problems left: those that need a person or a restart."""
    left, blocked = [], checks.blocked_until_restart(found)
    reload = False
    for problem in found:
        if not problem.sql or (problem.key == "slot" and blocked):
            left.append(problem)
            continue
        if problem.secret and password is None:
            left.append(problem)
            continue
        for sql in problem.sql:
            if sql == "PASSWORD":
                sql = f"ALTER ROLE {checks.quote_ident(role)} PASSWORD {checks.quote_literal(password)}"
            _run(server, sql)
        if problem.needs == "restart":
            left.append(problem)
            reload = True
    if reload or any(p.sql for p in found):
        query(server, "SELECT pg_reload_conf()")
    return left


def _run(server, sql):
    """One statement; its text never reaches argv when it holds a password (psql reads stdin)."""
    from ..pg.server import classify
    from ..runner import run

    result = run(["psql", "-X", "-w", "-q", "-v", "ON_ERROR_STOP=1", "-d", "dbname=postgres", "-f", "-"],
                 env=server.env(), input=(sql + ";\n").encode(), timeout=60)
    if not result.ok:
        raise classify(result.stderr, "psql")
