"""rex.config (loader, types, schema, sample): validation with positions, suggestions, precedence, search order."""

import os
import re
import textwrap

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rex import config
from rex.config import sample as config_sample, schema
from rex.config import Config, find_file, load, parse_file
from rex.errors import ConfigError


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """No configuration or environment leaks in from the machine running the tests."""
    for var in list(os.environ):
        if var.startswith(("REX_", "PG")):
            monkeypatch.delenv(var)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(config.loader.paths, "SYSTEM_CONFIG_FILE", str(tmp_path / "etc" / "rex.yaml"))


def write(tmp_path, text, name="rex.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return str(path)


def problems_of(path):
    values, problems = parse_file(path)
    return [(p.line, p.column, p.message) for p in problems]


# --- parse_file: values ------------------------------------------------------------------------

def test_valid_file_values_and_sources(tmp_path):
    path = write(tmp_path, """
        backup_root: ~/backups
        lock_wait: 2m
        pgdump:
          host: resolve-db.local
          port: 5433
          databases: [Resolve Projects, "Commercials 2026"]
          exclude: scratch_*
          all: yes
          compression: 9
        verify:
          older_than: 7d
    """)
    values, problems = parse_file(path)
    assert problems == []
    got = {name: value for name, (value, _src) in values.items()}
    assert got == {
        "backup_root": os.path.expanduser("~/backups"),
        "lock_wait": 120,
        "pgdump.host": "resolve-db.local",
        "pgdump.port": 5433,
        "pgdump.databases": ["Resolve Projects", "Commercials 2026"],
        "pgdump.exclude": ["scratch_*"],
        "pgdump.all": True,
        "pgdump.compression": 9,
        "verify.older_than": 7 * 86400,
    }
    assert values["pgdump.port"][1] == f"{path}:5"
    assert values["verify.older_than"][1] == f"{path}:11"


@pytest.mark.parametrize("text", ["", "# only comments\n", "---\n", "pgdump:\n", "pgdump: ~\nverify:\n"])
def test_empty_files_and_sections_are_fine(tmp_path, text):
    assert parse_file(write(tmp_path, text)) == ({}, [])


# --- parse_file: problems with positions -------------------------------------------------------

def test_unknown_top_level_key_suggests_nearest(tmp_path):
    path = write(tmp_path, """
        lock_wait: 10
        backup_roto: /srv
    """)
    assert problems_of(path) == [(2, 1, "unknown key 'backup_roto' (did you mean 'backup_root'?)")]


def test_unknown_key_without_a_near_match_has_no_suggestion(tmp_path):
    path = write(tmp_path, "zzzzzz: 1\n")
    ((line, col, message),) = problems_of(path)
    assert (line, col) == (1, 1)
    assert message == "unknown key 'zzzzzz'"


def test_unknown_key_in_a_section_is_positioned_and_suggested(tmp_path):
    path = write(tmp_path, """
        pgdump:
          host: db
            # a comment line
          compresion: 3
        verify:
              jbos: 4
    """)
    assert problems_of(path) == [
        (4, 3, "unknown key 'pgdump.compresion' (did you mean 'compression'?)"),
        (6, 7, "unknown key 'verify.jbos' (did you mean 'jobs'?)"),
    ]


def test_problem_str_is_file_line_column(tmp_path):
    path = write(tmp_path, "pgdump:\n  port: many\n")
    _values, (problem,) = parse_file(path)
    assert str(problem) == f"{path}:2:9: pgdump.port: expected a whole number"


@pytest.mark.parametrize("text,line,col,fragment", [
    ("pgdump:\n  port: abc\n", 2, 9, "pgdump.port: expected a whole number"),
    ("pgdump:\n  port: 70000\n", 2, 9, "must be at most 65535"),
    ("pgdump:\n  compression: -1\n", 2, 16, "must be at least 0"),
    ("pgdump:\n  all: maybe\n", 2, 8, "expected true or false"),
    ("pgdump:\n  port: true\n", 2, 9, "expected a whole number"),
    ("pgdump:\n  host: [a, b]\n", 2, 9, "expected a string"),
    ("backup_root: {a: 1}\n", 1, 14, "expected a path"),
    ("# note\n\nlock_wait:   soon\n", 3, 14, "lock_wait: not a duration"),
    ("pgdump:\n  databases: [[x]]\n", 2, 14, "expected a list of strings"),
    ("pgdump: 5\n", 1, 1, "'pgdump' must be a mapping of keys"),
    ("web:\n  expect:\n    dump: 1d\n    export: soon\n", 4, 13, "web.expect: expect: export: not a duration"),
    ("web:\n  expect:\n    dumps: 1d\n", 3, 5, "unknown key 'dumps' (did you mean 'dump'?)"),
    ("web:\n  expect: daily\n", 2, 11, "web.expect: expect: expected a mapping such as dump: 1d"),
    ("history:\n  keep: forever\n", 2, 9, "history.keep: not a duration"),
])
def test_wrong_type_has_exact_position(tmp_path, text, line, col, fragment):
    ((got_line, got_col, message),) = problems_of(write(tmp_path, text))
    assert (got_line, got_col) == (line, col), message
    assert fragment in message


def test_several_problems_are_all_reported(tmp_path):
    path = write(tmp_path, "lock_wat: 1\npgdump:\n  port: x\n  all: 3\n")
    assert [(line, col) for line, col, _m in problems_of(path)] == [(1, 1), (3, 9), (4, 8)]


def test_duplicate_keys_are_an_error_at_the_second_one(tmp_path):
    path = write(tmp_path, "pgdump:\n  port: 1\n  host: a\n  port: 2\n")
    ((line, col, message),) = problems_of(path)
    assert line == 4 and col == 3
    assert "duplicate" in message and "port" in message


@pytest.mark.parametrize("text,line,col", [
    ("pgdump:\n  host: [a, b\nverify: {}\n", 3, 7),      # unclosed flow sequence
    ("lock_wait: 1\n  bad indent: 2\n", 2, 13),         # mapping values not allowed here
    ("pgdump:\n\thost: x\n", 2, 1),                       # a tab where indentation is expected
    ('backup_root: "unterminated\n', 2, 1),
])
def test_bad_yaml_syntax_has_a_position(tmp_path, text, line, col):
    ((got_line, got_col, _message),) = problems_of(write(tmp_path, text))
    assert (got_line, got_col) == (line, col)


@pytest.mark.parametrize("text", ["- a\n- b\n", "just a string\n", "42\n"])
def test_top_level_must_be_a_mapping(tmp_path, text):
    ((line, col, message),) = problems_of(write(tmp_path, text))
    assert (line, col) == (1, 1) and "mapping" in message


def test_non_utf8_file(tmp_path):
    path = tmp_path / "rex.yaml"
    path.write_bytes(b"backup_root: /caf\xe9\n")
    ((line, col, message),) = problems_of(str(path))
    assert "UTF-8" in message


def test_load_raises_config_error_with_position_and_count(tmp_path):
    path = write(tmp_path, "lock_wat: 1\npgdump:\n  port: x\n")
    with pytest.raises(ConfigError) as info:
        load(path)
    assert info.value.code == 78
    assert info.value.message.startswith(f"{path}:1:1: unknown key 'lock_wat'")
    assert "1 more" in info.value.message


# --- precedence --------------------------------------------------------------------------------

def test_precedence_option_env_file_default(tmp_path, monkeypatch):
    path = write(tmp_path, "pgdump:\n  port: 5433\n  username: fileuser\n  host: filehost\n")

    cfg = load(path)
    assert (cfg.get("pgdump.port"), cfg.source("pgdump.port")) == (5433, f"{path}:2")
    assert cfg.get("pgdump.compression") == 6 and cfg.source("pgdump.compression") == "default"

    monkeypatch.setenv("PGPORT", "6000")
    monkeypatch.setenv("PGUSER", "envuser")
    cfg = load(path)
    assert (cfg.get("pgdump.port"), cfg.source("pgdump.port")) == (6000, "environment PGPORT")
    assert cfg.get("pgdump.username") == "envuser"
    assert cfg.get("pgdump.host") == "filehost"

    cfg = load(path, options={"pgdump.port": (7000, "option --port")})
    assert (cfg.get("pgdump.port"), cfg.source("pgdump.port")) == (7000, "option --port")
    assert cfg.source("pgdump.username") == "environment PGUSER"
    assert cfg.source("pgdump.host") == f"{path}:4"


def test_empty_environment_variable_does_not_count(tmp_path, monkeypatch):
    monkeypatch.setenv("PGPORT", "")
    path = write(tmp_path, "pgdump:\n  port: 5433\n")
    assert load(path).get("pgdump.port") == 5433


def test_option_none_does_not_override(tmp_path, monkeypatch):
    monkeypatch.setenv("PGHOST", "envhost")
    cfg = load(None, options={"pgdump.host": None})
    assert cfg.get("pgdump.host") == "envhost"


def test_bad_environment_value_is_a_config_error(monkeypatch):
    monkeypatch.setenv("PGPORT", "fivefourthreetwo")
    with pytest.raises(ConfigError, match="environment PGPORT"):
        load()


def test_defaults_without_any_file(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    cfg = load()
    assert cfg.file is None
    for key in schema.KEYS:
        assert cfg.source(key.name) == "default"
    assert cfg.get("lock_wait") == 60
    assert cfg.get("pgdump.timeout") == 6 * 3600
    assert cfg.backup_root == str(tmp_path / "data" / "rex" / "backups")
    monkeypatch.setenv("REX_BACKUP_ROOT", "/srv/rex")
    assert load().backup_root == "/srv/rex"


def test_config_items_cover_every_key():
    names = [name for name, _value, _source in Config().items()]
    assert names == [k.name for k in schema.KEYS]


# --- which file --------------------------------------------------------------------------------

def test_search_order(tmp_path, monkeypatch):
    system = tmp_path / "etc" / "rex.yaml"
    user = tmp_path / "xdg" / "rex" / "rex.yaml"
    env_file = tmp_path / "env.yaml"
    explicit = tmp_path / "explicit.yaml"
    assert find_file() is None

    system.parent.mkdir(parents=True)
    system.write_text("lock_wait: 1\n")
    assert find_file() == str(system)

    user.parent.mkdir(parents=True)
    user.write_text("lock_wait: 2\n")
    assert find_file() == str(user)
    assert load().get("lock_wait") == 2

    env_file.write_text("lock_wait: 3\n")
    monkeypatch.setenv("REX_CONFIG", str(env_file))
    assert find_file() == str(env_file)
    assert load().get("lock_wait") == 3

    explicit.write_text("lock_wait: 4\n")
    assert find_file(str(explicit)) == str(explicit)
    cfg = load(str(explicit))
    assert cfg.get("lock_wait") == 4 and cfg.file == str(explicit)


def test_xdg_config_home_moves_the_user_file(tmp_path, monkeypatch):
    other = tmp_path / "elsewhere"
    (other / "rex").mkdir(parents=True)
    (other / "rex" / "rex.yaml").write_text("pgdump:\n  host: moved\n")
    assert load().get("pgdump.host") is None
    monkeypatch.setenv("XDG_CONFIG_HOME", str(other))
    assert load().get("pgdump.host") == "moved"


@pytest.mark.parametrize("how", ["explicit", "env"])
def test_a_named_file_that_is_missing_is_an_error(tmp_path, monkeypatch, how):
    missing = str(tmp_path / "missing.yaml")
    if how == "env":
        monkeypatch.setenv("REX_CONFIG", missing)
    with pytest.raises(ConfigError) as info:
        load(missing if how == "explicit" else None)
    assert info.value.code == 78 and missing in info.value.message


# --- the schema and its sample -----------------------------------------------------------------

def test_sample_loads_as_an_empty_config(tmp_path):
    path = write(tmp_path, config_sample.sample())
    assert parse_file(path) == ({}, [])
    cfg = load(path)
    assert all(cfg.source(k.name) == "default" for k in schema.KEYS)


def test_sample_mentions_every_key_and_its_environment():
    text = config_sample.sample()
    for key in schema.KEYS:
        assert re.search(rf"^#\s*{re.escape(key.leaf)}:", text, re.M), key.name
        for env in key.env:
            assert env in text
    for section in schema.SECTIONS:
        if section:
            assert re.search(rf"^#\s*{section}:\s*$", text, re.M)


def _uncomment(sample, mark="# "):
    """Every line of the sample with its leading `mark` removed, as a user uncommenting the
    whole file (or a block of it) in an editor would."""
    return "\n".join(line[len(mark):] if line.startswith(mark) else line for line in sample.splitlines()) + "\n"


@pytest.mark.parametrize("mark", ["# ", "#"])
def test_uncommented_sample_is_valid_and_sets_every_key(tmp_path, mark):
    text = _uncomment(config_sample.sample(), mark)
    path = write(tmp_path, text)
    values, problems = parse_file(path)
    assert [str(p) for p in problems] == []
    assert sorted(values) == sorted(k.name for k in schema.KEYS)
    for key in schema.KEYS:
        shown = key.default if key.default not in (None, [], {}) else key.example
        if shown is None:
            continue
        expected = config.coerce(key, shown)
        assert values[key.name][0] == expected, key.name
    # The explanations stay comments: only settings and section names are uncommented.
    assert all(re.match(r"\s*(#|[a-z_]+:|$)", line) for line in text.splitlines())


def test_every_commented_block_of_the_sample_uncomments_on_its_own(tmp_path):
    """Each section, uncommented alone (its '# ' lines), is valid YAML with only its keys."""
    header, *blocks = config_sample.sample().rstrip("\n").split("\n\n")
    assert len(blocks) == len(schema.SECTIONS)
    for n, section in enumerate(schema.SECTIONS):
        text = "\n\n".join([header] + [b if i != n else _uncomment(b) for i, b in enumerate(blocks)])
        values, problems = parse_file(write(tmp_path, text))
        assert [str(p) for p in problems] == [], blocks[n]
        assert sorted(values) == sorted(k.name for k in schema.keys_in(section))


def test_schema_names_are_consistent():
    names = [k.name for k in schema.KEYS]
    assert len(names) == len(set(names))
    for key in schema.KEYS:
        assert key.section in schema.SECTIONS
        assert key.doc.strip()
        if key.default is not None:
            config.coerce(key, key.default)   # every default passes its own validation


# --- every problem in a list, each at its spot -------------------------------------------------

_POLICY_ITEMS = {   # kind: (YAML of one policy, column of its problem; None when it is good)
    "good": ("{match: '*.a', keep_last: 2}", None),
    "unknown key": ("{match: '*.a', keep_dayly: 2}", 22),
    "not a number": ("{match: '*.a', keep_last: many}", 33),
    "bad duration": ("{match: '*.a', keep_within: soon}", 35),
    "no match": ("{keep_last: 2}", 7),
    "keeps nothing": ("{match: '*.a', keep_last: 0}", 7),
}


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(sorted(_POLICY_ITEMS)), min_size=1, max_size=8))
def test_every_bad_policy_is_reported_at_its_line_and_column(tmp_path, kinds):
    text = "prune:\n  policies:\n" + "".join(f"    - {_POLICY_ITEMS[k][0]}\n" for k in kinds)
    path = write(tmp_path, text)
    expected = [(3 + i, _POLICY_ITEMS[k][1]) for i, k in enumerate(kinds) if _POLICY_ITEMS[k][1]]
    found = problems_of(path)
    assert [(line, col) for line, col, _message in found] == expected
    assert all(m.startswith(f"prune.policies: policy {line - 2}: ") for line, _col, m in found)
    if not expected:
        assert len(parse_file(path)[0]["prune.policies"][0]) == len(kinds)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(["https://hc.example/x", "hc.example/x", "$NAME", "$1X"]), min_size=1, max_size=6))
def test_every_bad_monitor_is_reported_at_its_line(tmp_path, urls):
    text = "report:\n  monitors:\n" + "".join(f"    - healthchecks: {url}\n" for url in urls)
    found = problems_of(write(tmp_path, text))
    assert [(line, col) for line, col, _m in found] == [(3 + i, 21) for i, url in enumerate(urls)
                                                        if url in ("hc.example/x", "$1X")]


@given(st.floats(min_value=0, max_value=1e9, allow_nan=False) | st.integers(0, 10 ** 9))
def test_show_writes_durations_the_file_reads_back(seconds):
    cfg = Config(None, {"lock_wait": (float(seconds), "f:1")}, environ={})
    shown = dict((name, value) for name, value, _source in cfg.shown())["lock_wait"]
    assert isinstance(shown, str) and config.coerce(schema.BY_NAME["lock_wait"], shown) == seconds


def test_environment_problems_name_each_variable_once():
    environ = {"PGPORT": "abc", "PGHOST": "db", "REX_LOCK_WAIT": "-1", "REX_UPLOAD_REMOTE": "x", "PGUSER": ""}
    found = config.environment_problems(environ)
    assert [m.split(":")[0] for m in found] == ["environment REX_LOCK_WAIT", "environment PGPORT",
                                                "environment REX_UPLOAD_REMOTE"]
    assert config.environment_problems({"PGPORT": "5432", "PGUSER": "x"}) == []


def test_web_expect_names_some_kinds_and_the_others_keep_their_defaults(tmp_path):
    config = load(write(tmp_path, "web:\n  expect: {dump: 12h, other: 0}\n"))
    assert config.get("web.expect") == {"dump": 43200.0, "export": 86400.0, "globals": 86400.0, "other": 0.0}
    assert load(write(tmp_path, "")).get("web.expect") == {"dump": 86400.0, "export": 86400.0,
                                                            "globals": 86400.0, "other": 604800.0}
    assert dict((n, v) for n, v, _ in config.shown())["web.expect"] == {"dump": "12h", "export": "1d",
                                                                       "globals": "1d", "other": "0s"}


def test_web_hosts_maps_host_names_to_token_files_and_each_bad_one_is_cited_where_it_is(tmp_path):
    good = load(write(tmp_path, "web:\n  hosts:\n    bay7: /etc/rex/web-bay7.token\n    render-2.lan: ~/t\n"))
    assert good.get("web.hosts") == {"bay7": "/etc/rex/web-bay7.token", "render-2.lan": os.path.expanduser("~/t")}
    assert load(write(tmp_path, "")).get("web.hosts") == {}
    found = problems_of(write(tmp_path, """
        web:
          hosts:
            bay7: /etc/rex/a
            ../etc: /etc/rex/b
            bay8: [x]
            -rf: /etc/rex/c
            bay9:
        """))
    assert [(line, col) for line, col, _m in found] == [(4, 5), (5, 11), (6, 5), (7, 5)]
    assert all(m.startswith("web.hosts: ") for _l, _c, m in found)
    assert "'../etc' is not a host name" in found[0][2] and "bay8: expected the path" in found[1][2]
    assert problems_of(write(tmp_path, "web:\n  hosts: [bay7]\n"))[0][:2] == (2, 10)
