"""Restoring a dump into a throwaway database to prove it is whole (--deep).

The dump's own COPY blocks say how many rows each table should have; after a
single-transaction restore the database must hold the same tables, rows and
large objects. The throwaway database is dropped whatever happens.
"""

import contextlib
import secrets

from ..errors import DataError
from ..runner import operand, run
from .archive import read_toc, row_counts
from .server import conninfo_dbname, query


def quote_ident(name):
    return '"' + name.replace('"', '""') + '"'


def pg_restore_argv(pg_restore, database, path, jobs=None):
    argv = [pg_restore, "--no-owner", "--no-acl", "--exit-on-error", "--no-password",
            f"--dbname={conninfo_dbname(database)}"]
    argv += [f"--jobs={jobs}"] if jobs and jobs > 1 else ["--single-transaction"]
    return argv + [operand(path)]


@contextlib.contextmanager
def scratch_database(server, psql, prefix="rex_verify"):
    """A new empty database on `server`, dropped on exit."""
    name = f"{prefix}_{secrets.token_hex(6)}"
    query(server, f"CREATE DATABASE {quote_ident(name)} TEMPLATE template0", psql=psql)
    try:
        yield name
    finally:
        with contextlib.suppress(Exception):
            query(server, f"DROP DATABASE IF EXISTS {quote_ident(name)} WITH (FORCE)", psql=psql)
        with contextlib.suppress(Exception):
            query(server, f"DROP DATABASE IF EXISTS {quote_ident(name)}", psql=psql)


def table_counts(server, database, tables, psql):
    """{(schema, table): rows} in `database` for the given tables."""
    if not tables:
        return {}
    order = sorted(tables)
    sql = " UNION ALL ".join(f"SELECT '{i}:' || count(*) FROM {quote_ident(s)}.{quote_ident(t)}"
                             for i, (s, t) in enumerate(order))
    counts = {}
    for row in query(server, sql, database=database, psql=psql, timeout=3600):
        index, _, value = row.partition(":")
        counts[order[int(index)]] = int(value)
    return counts


def deep_check(server, path, pg_restore, psql, timeout=None):
    """Restore `path` into a scratch database and compare tables, rows and large objects.

    Returns a short summary; raises DataError (65) when anything differs or fails.
    """
    toc = read_toc(pg_restore, path)
    expected = row_counts(pg_restore, path)
    with scratch_database(server, psql) as database:
        result = run(pg_restore_argv(pg_restore, database, path), env=server.env(), timeout=timeout)
        if not result.ok:
            raise DataError(f"{path}: restore failed: {result.tail()}")
        return compare_restored(server, database, path, toc, expected, psql)


def compare_restored(server, database, path, toc, expected, psql):
    """Prove `database` holds what the dump at `path` holds: its tables, each table's
    rows (`expected`, from row_counts) and its large objects; a summary, or DataError."""
    restored = query(server, "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN "
                             "('pg_catalog', 'information_schema')", database=database, psql=psql)
    if int(restored[0]) != toc.tables:
        raise DataError(f"{path}: dump lists {toc.tables} tables, restore has {restored[0]}")
    actual = table_counts(server, database, expected.keys(), psql)
    for table, rows in sorted(expected.items()):
        if actual.get(table) != rows:
            raise DataError(f"{path}: table {table[0]}.{table[1]} has {actual.get(table)} rows after restore, "
                            f"the dump holds {rows}")
    objects = int(query(server, "SELECT count(*) FROM pg_largeobject_metadata", database=database,
                        psql=psql)[0])
    if objects != toc.large_objects:
        raise DataError(f"{path}: dump lists {toc.large_objects} large objects, restore has {objects}")
    return f"{toc.tables} tables, {sum(expected.values())} rows, {objects} large objects restored"
