"""Reading replication state from either side into one status record (see status.py)."""

from .checks import quote_literal
from .primary import one_json

PRIMARY_SQL = """
SELECT json_build_object(
  'in_recovery', pg_is_in_recovery(),
  'slot', {slot},
  'slot_exists', s.slot_name IS NOT NULL,
  'slot_active', s.active,
  'wal_status', s.wal_status,
  'retained_bytes', CASE WHEN pg_is_in_recovery() THEN NULL
                         ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), s.restart_lsn)::bigint END,
  'safe_wal_size', s.safe_wal_size,
  'connected', r.pid IS NOT NULL,
  'state', r.state,
  'client_addr', host(r.client_addr),
  'sent_lsn', r.sent_lsn, 'write_lsn', r.write_lsn, 'flush_lsn', r.flush_lsn, 'replay_lsn', r.replay_lsn,
  'replay_lag_bytes', CASE WHEN r.pid IS NULL THEN NULL
                           ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), r.replay_lsn)::bigint END,
  'write_lag_seconds', extract(epoch FROM r.write_lag),
  'flush_lag_seconds', extract(epoch FROM r.flush_lag),
  'replay_lag_seconds', extract(epoch FROM r.replay_lag),
  'last_report_seconds', extract(epoch FROM now() - r.reply_time))
FROM (SELECT 1) one
LEFT JOIN pg_replication_slots s ON s.slot_name = {slot}
LEFT JOIN LATERAL (SELECT * FROM pg_stat_replication x
                   WHERE x.pid = s.active_pid OR s.slot_name IS NULL
                   ORDER BY x.backend_start LIMIT 1) r ON true
"""

STANDBY_SQL = """
SELECT json_build_object(
  'in_recovery', pg_is_in_recovery(),
  'connected', w.status = 'streaming',
  'state', w.status,
  'sender_host', w.sender_host, 'sender_port', w.sender_port,
  'slot', w.slot_name,
  'receive_lsn', pg_last_wal_receive_lsn(), 'replay_lsn', pg_last_wal_replay_lsn(),
  'replay_lag_bytes', pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::bigint,
  'replay_pending', pg_last_wal_receive_lsn() IS DISTINCT FROM pg_last_wal_replay_lsn(),
  'replay_age_seconds', extract(epoch FROM now() - pg_last_xact_replay_timestamp()),
  'last_report_seconds', extract(epoch FROM now() - w.last_msg_receipt_time))
FROM (SELECT 1) one LEFT JOIN pg_stat_wal_receiver w ON true
"""


def is_standby(server):
    return one_json(server, "SELECT to_json(pg_is_in_recovery())")


def record(server, slot, side=None):
    """The status record of the server: the primary's view of `slot` and its standby, or
    (on a server in recovery, or side='standby') the standby's own view."""
    if side is None:
        side = "standby" if is_standby(server) else "primary"
    sql = PRIMARY_SQL.format(slot=quote_literal(slot)) if side == "primary" else STANDBY_SQL
    got = one_json(server, sql)
    got["side"] = side
    if side == "standby" and not got.get("in_recovery"):
        got["connected"] = False
    return got


def check(server, slot, side, warn, crit):
    """(exit code, record with status and reasons, one line for people). A server that is
    down or refuses the login is CRITICAL, as a check that pages someone must say; any
    other failure to ask is UNKNOWN."""
    from .. import errors
    from . import status as verdicts

    try:
        got = record(server, slot, side)
    except errors.RexError as exc:
        code = verdicts.CRITICAL if exc.code in (errors.TEMPFAIL, errors.NOPERM) else verdicts.UNKNOWN
        return code, None, exc.message
    code, reasons = verdicts.verdict(got, warn, crit)
    got.update(status=verdicts.NAMES[code], reasons=reasons, path=f"{got['side']}:{slot}")
    return code, got, f"{verdicts.NAMES[code]}: {'; '.join(reasons) or 'streaming'} ({got['side']} side)"
