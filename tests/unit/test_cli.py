"""The commands as users run them: exit codes, one-line errors, journald priorities, pipes."""

import hashlib
import json
import os
import re
import stat
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.join(ROOT, "bin")
COMMANDS = ["rex-config", "rex-pgdump", "rex-verify"]


@pytest.fixture
def env(rex_env):
    """Private XDG directories; nothing from the caller's PG/REX/journal environment (conftest.user_env)."""
    return rex_env


def rex(name, *args, env, input=None, timeout=60, **kwargs):
    kwargs.setdefault("stdout", subprocess.PIPE)
    kwargs.setdefault("stderr", subprocess.PIPE)
    if input is None:
        kwargs.setdefault("stdin", subprocess.DEVNULL)
    result = subprocess.run([sys.executable, os.path.join(BIN, name), *map(str, args)], env=env,
                            input=input, timeout=timeout, **kwargs)
    result.err = (result.stderr or b"").decode("utf-8", "replace")
    result.out = (result.stdout or b"").decode("utf-8", "replace")
    return result


def assert_no_traceback(text):
    assert "Traceback" not in text and "Error:" not in text.replace("error:", ""), text


@pytest.mark.parametrize("name", COMMANDS)
def test_unknown_option_is_a_usage_error(name, env):
    result = rex(name, "--no-such-option", env=env)
    assert result.returncode == 64, result.err
    errors = [line for line in result.err.splitlines() if line.startswith(f"{name}: error: ")]
    assert len(errors) == 1, result.err
    assert "--no-such-option" in errors[0]
    assert result.out == ""
    assert_no_traceback(result.err)


@pytest.mark.parametrize("name", COMMANDS)
def test_version(name, env):
    result = rex(name, "--version", env=env)
    assert result.returncode == 0
    assert re.fullmatch(rf"{name} \(rex\) \d+\.\d+\S*\n", result.out), result.out


@pytest.mark.parametrize("name", COMMANDS)
def test_help(name, env):
    result = rex(name, "--help", env=env, timeout=20)
    assert result.returncode == 0, result.err
    assert "Usage:" in result.out and name in result.out
    assert result.err == ""


ALL_COMMANDS = sorted(os.listdir(BIN))


def _helps(name, env):
    """The --help of a command and of each of its subcommands."""
    main = rex(name, "--help", env=env, timeout=20).out
    subcommands = re.findall(r"^  (\w+)  ", main.split("Commands:")[1], re.M) if "Commands:" in main else []
    return [main] + [rex(name, sub, "--help", env=env, timeout=20).out for sub in subcommands]


@pytest.mark.parametrize("name", ALL_COMMANDS)
def test_help_names_arguments_and_cuts_nothing_off(name, env):
    """Option arguments have names (N, FILE), not click's types (INTEGER RANGE), and no
    summary is cut off with '...'."""
    for text in _helps(name, env):
        options = [line for line in text.splitlines() if line.lstrip().startswith("-")]
        assert not [o for o in options if re.search(r"\b(INTEGER|TEXT|FLOAT|RANGE|BOOLEAN)\b", o)], text
        assert not [line for line in text.splitlines() if line.endswith("...") and not line.startswith("Usage:")], text


def test_height_help_names_every_fraction(env):
    from rex.media.presets import FRACTIONS

    text = " ".join(rex("proxy-encode", "--help", env=env).out.split())
    option = text[text.index("--height"):].split(" -", 1)[0]
    assert all(word in option for word in FRACTIONS), option


def _rendered(page):
    """A man page as mandoc renders it, without the overstrikes of bold and underline."""
    text = subprocess.run(["mandoc", "-T", "ascii", os.path.join(ROOT, "man", page)],
                          capture_output=True, text=True, check=True).stdout
    return re.sub(".\b", "", text)


def test_overview_pages_name_every_command():
    """rex(7) lists every command and rex(5) points to every command's page."""
    overview = _rendered("rex.7").split("The commands\n", 1)[1].split("\n   Records\n", 1)[0]
    assert set(re.findall(r"^ {5}([a-z-]+)\(1\)(?= |$)", overview, re.M)) == set(ALL_COMMANDS)
    see_also = " ".join(_rendered("rex.5").split("SEE ALSO", 1)[1].split())
    assert all(f"{name}(1)" in see_also for name in ALL_COMMANDS), see_also


@pytest.mark.parametrize("name", COMMANDS)
def test_journal_stream_priority_prefix(name, env, tmp_path):
    err_path = tmp_path / "stderr.log"
    with open(err_path, "wb") as err:
        st = os.fstat(err.fileno())
        env["JOURNAL_STREAM"] = f"{st.st_dev}:{st.st_ino}"
        result = rex(name, "--no-such-option", env=env, stderr=err)
    assert result.returncode == 64
    lines = err_path.read_text().splitlines()
    assert lines[0].startswith(f"<3>{name}: error: "), lines


def test_journal_stream_for_another_file_adds_no_prefix(env, tmp_path):
    other = tmp_path / "other"
    other.write_text("")
    st = os.stat(other)
    env["JOURNAL_STREAM"] = f"{st.st_dev}:{st.st_ino}"
    result = rex("rex-config", "--no-such-option", env=env)
    assert result.err.startswith("rex-config: error: ")


# --- rex-config ------------------------------------------------------------------------------

def test_config_check_bad_file(env, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("lock_wait: 10\npgdump:\n  port: seven\n  compresion: 3\n")
    result = rex("rex-config", "check", bad, env=env)
    assert result.returncode == 78
    assert f"{bad}:3:9: pgdump.port: expected a whole number" in result.err
    assert f"{bad}:4:3: unknown key 'pgdump.compresion'" in result.err
    assert "did you mean 'compression'" in result.err
    assert_no_traceback(result.err)


def test_config_check_good_and_missing_files(env, tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text("pgdump:\n  port: 5432\n")
    assert rex("rex-config", "check", good, env=env).returncode == 0
    missing = rex("rex-config", "check", tmp_path / "missing.yaml", env=env)
    assert missing.returncode == 66


def test_config_generate_is_private_and_refuses_to_overwrite(env, tmp_path):
    target = tmp_path / "new" / "rex.yaml"
    result = rex("rex-config", "generate", target, env=env)
    assert result.returncode == 0, result.err
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    text = target.read_text()
    assert "pgdump" in text and "backup_root" in text
    assert rex("rex-config", "check", target, env=env).returncode == 0

    target.write_text("# mine\n")
    again = rex("rex-config", "generate", target, env=env)
    assert again.returncode == 73
    assert "--force" in again.err
    assert target.read_text() == "# mine\n"

    forced = rex("rex-config", "generate", "--force", target, env=env)
    assert forced.returncode == 0
    assert target.read_text() == text


def test_config_generate_sample_uncommented_whole_passes_check(env, tmp_path):
    """Remove every leading '# ' of the generated sample: rex-config check accepts it and
    show takes every key from it."""
    sample = rex("rex-config", "generate", "-", env=env).out
    target = tmp_path / "all.yaml"
    target.write_text("".join(line[2:] if line.startswith("# ") else line for line in sample.splitlines(True)))
    result = rex("rex-config", "check", target, env=env)
    assert result.returncode == 0, result.err
    del env["REX_BACKUP_ROOT"]
    shown = rex("rex-config", "-c", target, "show", env=env)
    assert shown.returncode == 0, shown.err
    sources = [line.rsplit("(", 1)[1] for line in shown.out.splitlines()]
    assert all(source.startswith(f"{target}:") for source in sources), shown.out


def test_config_generate_default_location_and_stdout(env, tmp_path):
    result = rex("rex-config", "generate", env=env)
    assert result.returncode == 0, result.err
    assert (tmp_path / "config" / "rex" / "rex.yaml").exists()
    out = rex("rex-config", "generate", "-", env=env)
    assert out.returncode == 0
    assert out.out == (tmp_path / "config" / "rex" / "rex.yaml").read_text()


def test_config_show_sources(env, tmp_path):
    conf = tmp_path / "config" / "rex" / "rex.yaml"
    conf.parent.mkdir(parents=True)
    conf.write_text("pgdump:\n  port: 5433\n")
    env["PGUSER"] = "editor"
    result = rex("rex-config", "show", env=env)
    assert result.returncode == 0, result.err
    lines = {line.split()[0]: line for line in result.out.splitlines()}
    assert "5433" in lines["pgdump.port"] and f"({conf}:2)" in lines["pgdump.port"]
    assert "editor" in lines["pgdump.username"] and "(environment PGUSER)" in lines["pgdump.username"]
    assert "(default)" in lines["pgdump.compression"]


def test_config_check_checks_the_environment_too(env, tmp_path):
    """Every variable that sets a key is checked as the commands will read it, named as the source."""
    good = tmp_path / "good.yaml"
    good.write_text("pgdump:\n  port: 5432\n")
    bad_env = dict(env, PGPORT="abc", REX_LOCK_WAIT="soon", REX_UPLOAD_REMOTE="nocolon", PGUSER="editor")
    for args in ([], [good]):                        # no file at all, and a good file
        result = rex("rex-config", "check", *args, env=bad_env)
        assert result.returncode == 78, result.err
        errors = result.err.splitlines()
        assert len(errors) == 3, result.err
        assert "rex-config: error: environment PGPORT: expected a whole number" in errors
        assert any(e.startswith("rex-config: error: environment REX_LOCK_WAIT: not a duration") for e in errors)
        assert any(e.startswith("rex-config: error: environment REX_UPLOAD_REMOTE: ") for e in errors)
        assert_no_traceback(result.err)
    assert rex("rex-config", "check", good, env=dict(env, PGPORT="5433", PGUSER="editor")).returncode == 0
    assert rex("rex-config", "check", env=dict(env, PGPORT="")).returncode == 0     # empty: unset


def test_config_check_reports_every_problem_in_lists(env, tmp_path):
    conf = tmp_path / "lists.yaml"
    conf.write_text(
        "prune:\n"
        "  policies:\n"
        "    - {match: '*.backup', keep_dayly: 4}\n"      # 3
        "    - match: '*.drp'\n"
        "      keep_last: many\n"                          # 5
        "      keep_within: soon\n"                        # 6
        "    - {match: '*.ok', keep_last: 2}\n"
        "    - keep_last: 3\n"                             # 8: no match
        "report:\n"
        "  monitors:\n"
        "    - healthchecks: https://hc.example/x\n"
        "      events: [failed]\n"                         # 12
        "    - slack: https://x.example/\n"                # 13
        "    - ntfy: nourl\n"                              # 14
        "      tokn: x\n"                                  # 15
        "  jobs:\n"
        "    rex-pgdump:\n"
        "      - webhook: hooks.example/x\n"               # 18
        "      - desktop: maybe\n")                        # 19
    result = rex("rex-config", "check", conf, env=env)
    assert result.returncode == 78
    spots = [line.split(": ")[2] for line in result.err.splitlines()]
    assert spots == [f"{conf}:{spot}" for spot in
                     ("3:27", "5:18", "6:20", "8:7", "12:15", "13:7", "14:13", "15:7", "18:18", "19:18")], result.err
    assert "keep_daily" in result.err and "policy 4: no match" in result.err and "'tokn'" in result.err
    assert_no_traceback(result.err)
    # A command stops on the first, and says how many more there are.
    stopped = rex("rex-prune", "-c", conf, tmp_path, env=env)
    assert stopped.returncode == 78 and "(and 9 more; run rex-config check)" in stopped.err


def test_config_check_refuses_a_remote_that_rex_upload_would(env, tmp_path):
    for remote, col in (("nocolon", 11), ("/srv/backups", 11), ("'-x:y'", 11)):
        conf = tmp_path / "upload.yaml"
        conf.write_text(f"backup_root: /srv\nupload:\n  remote: {remote}\n")
        result = rex("rex-config", "check", conf, env=env)
        assert result.returncode == 78, (remote, result.err)
        assert result.err.startswith(f"rex-config: error: {conf}:3:{col}: upload.remote: "), result.err
        upload = rex("rex-upload", "-c", conf, "-n", env=env)
        assert upload.returncode == 78 and f"{conf}:3:{col}" in upload.err, upload.err
    for remote in ("offsite:rex/backups", ":local:/srv/copy", "b2 backups:bucket"):
        conf.write_text(f"upload:\n  remote: {remote}\n")
        assert rex("rex-config", "check", conf, env=env).returncode == 0, remote


def test_config_show_effective_backup_root_and_durations(env, tmp_path):
    del env["REX_BACKUP_ROOT"]
    conf = tmp_path / "config" / "rex" / "rex.yaml"
    conf.parent.mkdir(parents=True)
    conf.write_text("export:\n  idle: 90m\nprune:\n  policies:\n    - {match: '*', keep_within: 36h}\n")
    result = rex("rex-config", "show", env=env)
    assert result.returncode == 0, result.err
    shown = {line.split()[0]: line.split()[1] for line in result.out.splitlines()}
    assert shown["backup_root"] == str(tmp_path / "data" / "rex" / "backups")
    assert (shown["lock_wait"], shown["export.idle"], shown["upload.recheck_after"]) == ("1m", "1h30m", "30d")
    records = [json.loads(line) for line in rex("rex-config", "--json", "show", env=env).out.splitlines()]
    values = {r["key"]: r["value"] for r in records}
    assert values["backup_root"] == str(tmp_path / "data" / "rex" / "backups")
    assert values["export.idle"] == "1h30m" and values["pgdump.timeout"] == "6h"
    assert values["prune.policies"] == [{"match": ["*"], "keep_within": "1d12h"}]
    env["HOME"] = str(tmp_path / "home")
    env["REX_BACKUP_ROOT"] = "~/backups"
    shown = rex("rex-config", "show", env=env).out.splitlines()[0].split()
    assert shown == ["backup_root", str(tmp_path / "home" / "backups"), "(environment", "REX_BACKUP_ROOT)"]


def test_config_man_page_json_example_is_what_show_prints(env):
    """rex-config(1)'s `show --json` example, as mandoc renders it, is a record show really writes."""
    page = _rendered("rex-config.1")
    examples = [json.loads(line.strip()) for line in page.splitlines() if line.strip().startswith('{"key"')]
    assert len(examples) == 1, page
    example = examples[0]
    var = example["source"].split()[-1]
    shown = rex("rex-config", "--json", "show", env=dict(env, **{var: str(example["value"])}))
    assert example in [json.loads(line) for line in shown.out.splitlines()]


def test_a_bad_config_file_stops_a_command_with_78(env, tmp_path):
    conf = tmp_path / "bad.yaml"
    conf.write_text("verify:\n  jobs: lots\n")
    result = rex("rex-verify", "-c", conf, "/nonexistent", env=env)
    assert result.returncode == 78
    assert f"{conf}:2:9:" in result.err
    assert_no_traceback(result.err)


# --- rex-verify in a pipeline ----------------------------------------------------------------

def _backups(directory, count):
    directory.mkdir()
    names = []
    for i in range(count):
        path = directory / f"clip {i}.mov"
        data = f"payload {i}\n".encode() * 10
        path.write_bytes(data)
        (directory / f"clip {i}.mov.md5").write_text(f"{hashlib.md5(data).hexdigest()}  clip {i}.mov\n")
        names.append(str(path))
    return names


def test_verify_passes_good_files_and_names_bad_ones(env, tmp_path):
    good = _backups(tmp_path / "b", 3)
    with open(good[1], "ab") as f:
        f.write(b"flipped")
    result = rex("rex-verify", "-j", "1", env=env, input="\n".join(good + [str(tmp_path / "gone")]).encode())
    assert result.out.splitlines() == [good[0], good[2]]
    assert result.returncode == 65
    assert "checksum mismatch" in result.err and "gone" in result.err


def test_verify_into_head_ends_quietly(env, tmp_path):
    names = _backups(tmp_path / "b", 50)
    listing = tmp_path / "list"
    listing.write_text("\n".join(names * 100) + "\n")   # 5000 records
    with open(listing, "rb") as stdin:
        verify = subprocess.Popen([sys.executable, os.path.join(BIN, "rex-verify"), "-j", "2"], env=env,
                                  stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        head = subprocess.Popen(["head", "-1"], stdin=verify.stdout, stdout=subprocess.PIPE)
        verify.stdout.close()
        first, _ = head.communicate(timeout=60)
        err = verify.stderr.read().decode("utf-8", "replace")
        code = verify.wait(timeout=60)
        verify.stderr.close()
    assert first.decode().rstrip("\n") == names[0]
    assert err == "", err
    assert code == 141   # 128 + SIGPIPE, as `yes | head` ends
