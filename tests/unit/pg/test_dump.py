"""rex.pg.dump: pg_dump's command line as data, and which libraries a run dumps."""

import fnmatch

from hypothesis import given
from hypothesis import strategies as st

from rex.pg.dump import choose_databases, pg_dump_argv, pg_dumpall_globals_argv

names = st.text(st.characters(blacklist_characters="\0", blacklist_categories=("Cs",)), min_size=1, max_size=40)
outputs = names.map(lambda s: s.replace("/", "_"))
levels = st.one_of(st.none(), st.integers(0, 9))


def parse_conninfo(text):
    """{keyword: value} of a libpq conninfo string, as libpq reads it: values in single
    quotes, a backslash escaping the next character (the test's own reading of the rule)."""
    found, i = {}, 0
    while i < len(text):
        if text[i] == " ":
            i += 1
            continue
        key, _, rest = text[i:].partition("=")
        assert rest.startswith("'"), text
        value, j = [], i + len(key) + 2
        while text[j] != "'":
            if text[j] == "\\":
                j += 1
            value.append(text[j])
            j += 1
        found[key] = "".join(value)
        i = j + 1
    return found


@given(names, outputs, levels)
def test_pg_dump_argv_names_exactly_the_database_and_takes_no_operand(database, output, level):
    argv = pg_dump_argv("pg_dump", database, output, level)
    assert argv[0] == "pg_dump"
    # Every argument is an option with its value attached: nothing can be read as another option.
    assert all(a.startswith("--") for a in argv[1:])
    assert f"--file={output}" in argv
    dbname = [a for a in argv if a.startswith("--dbname=")]
    assert len(dbname) == 1 and parse_conninfo(dbname[0][len("--dbname="):]) == {"dbname": database}
    assert ("--compress=%d" % level in argv) if level is not None else not any("compress" in a for a in argv)


@given(names, outputs, levels)
def test_pg_dump_argv_never_carries_a_secret_and_never_prompts(database, output, level):
    argv = pg_dump_argv("pg_dump", database, output, level)
    assert "--no-password" in argv
    assert not {"-W", "--password"} & set(argv)
    conninfo = next(a for a in argv if a.startswith("--dbname="))[len("--dbname="):]
    assert set(parse_conninfo(conninfo)) == {"dbname"}      # no password=, host=, user=: those go by env


def test_pg_dump_argv_keeps_a_custom_format_with_large_objects():
    argv = pg_dump_argv("/usr/lib/postgresql/15/bin/pg_dump", "Resolve Projects", "-out.tmp", 6)
    assert argv == ["/usr/lib/postgresql/15/bin/pg_dump", "--format=custom", "--blobs", "--no-password",
                    "--file=-out.tmp", "--compress=6", "--dbname=dbname='Resolve Projects'"]


@given(outputs)
def test_pg_dumpall_globals_argv_attaches_its_file(output):
    assert pg_dumpall_globals_argv("pg_dumpall", output) == ["pg_dumpall", "--globals-only", "--no-password",
                                                            f"--file={output}"]


globs = st.lists(st.sampled_from(["*", "scratch_*", "a?", "[ab]*", "postgres", "x"]), max_size=3)
db_lists = st.lists(st.sampled_from(["postgres", "a1", "ab", "scratch_1", "Resolve Projects", "x", "b"]),
                    max_size=8, unique=True)


@given(st.lists(names, max_size=6), db_lists, st.booleans(), globs, st.lists(names, max_size=3))
def test_named_databases_win_each_named_once_in_order(operands, every, include_postgres, exclude, configured):
    if not operands:
        return
    assert choose_databases(operands, every, include_postgres, exclude, configured) == \
        (list(dict.fromkeys(operands)), [])


@given(db_lists, st.booleans(), globs, st.lists(names, max_size=3))
def test_all_takes_every_database_but_postgres_unless_included_and_the_excluded(every, include_postgres, exclude,
                                                                               configured):
    names_, excluded = choose_databases([], every, include_postgres, exclude, configured)
    assert set(names_) | set(excluded) == {d for d in every if d != "postgres" or include_postgres}
    assert not set(names_) & set(excluded)
    assert all(any(fnmatch.fnmatchcase(d, p) for p in exclude) for d in excluded)
    assert [d for d in every if d in names_] == names_          # the server's order kept


@given(st.lists(names, max_size=6))
def test_without_operands_or_all_the_configured_databases(configured):
    assert choose_databases([], None, configured=configured) == (list(dict.fromkeys(configured)), [])
