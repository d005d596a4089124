"""rex.pg.restore: pg_restore's command line as data."""

from hypothesis import given
from hypothesis import strategies as st

from rex.pg.restore import pg_restore_argv, quote_ident

from .test_dump import parse_conninfo

names = st.text(st.characters(blacklist_characters="\0", blacklist_categories=("Cs",)), min_size=1, max_size=40)
jobs = st.one_of(st.none(), st.integers(0, 16))


@given(names, names, jobs)
def test_pg_restore_argv_ends_with_the_dump_as_an_operand_that_is_never_an_option(database, path, n):
    argv = pg_restore_argv("pg_restore", database, path, n)
    assert argv[-1] == ("./" + path if path.startswith("-") else path)
    assert all(a.startswith("--") for a in argv[1:-1])       # options attached, the path alone at the end


@given(names, names, jobs)
def test_pg_restore_argv_names_exactly_the_database_and_never_a_secret(database, path, n):
    argv = pg_restore_argv("pg_restore", database, path, n)
    assert "--no-password" in argv and not {"-W", "--password"} & set(argv)
    dbname = [a for a in argv[:-1] if a.startswith("--dbname=")]
    assert len(dbname) == 1 and parse_conninfo(dbname[0][len("--dbname="):]) == {"dbname": database}


@given(names, names, jobs)
def test_pg_restore_argv_is_one_transaction_unless_parallel_and_stops_at_the_first_error(database, path, n):
    argv = pg_restore_argv("pg_restore", database, path, n)
    assert {"--exit-on-error", "--no-owner", "--no-acl"} <= set(argv)
    if n and n > 1:
        assert f"--jobs={n}" in argv and "--single-transaction" not in argv
    else:
        assert "--single-transaction" in argv and not any(a.startswith("--jobs") for a in argv)


@given(names)
def test_quote_ident_doubles_quotes_inside_one_pair(name):
    quoted = quote_ident(name)
    assert quoted.startswith('"') and quoted.endswith('"')
    assert quoted[1:-1].replace('""', "") .count('"') == 0
    assert quoted[1:-1].replace('""', '"') == name
