"""`make install` and what it installs: scripts, man pages, systemd units, launchd plists.

The install runs once per module into a temporary DESTDIR with PREFIX=/usr. Then:

- systemd units are checked with `systemd-analyze verify --root=ROOT`. With --root,
  systemd resolves *everything* inside ROOT: the unit search path (so the targets a
  service depends on by default, sysinit.target, basic.target, shutdown.target, and
  those named in [Install] or After=/Wants=, must exist there) and the programs of
  Exec*= lines (so /bin/bash and /bin/mkdir must be there, not only our scripts).
  ROOT is therefore a copy of DESTDIR plus copies of the host programs the units
  run and empty stand-ins for the standard targets. systemd-analyze exits 0 on an
  unknown key (it only warns), so any output at all counts as a failure; a
  deliberately broken unit proves that the check can fail.
- systemd user units (units/user, installed to PREFIX/lib/systemd/user) are checked
  with `systemd-analyze verify --user`. --root cannot be combined with --user
  ("Failed to initialize unit search paths for root directory"), so the user
  manager is simulated on the host: XDG_RUNTIME_DIR points at a private temporary
  directory (without it the manager cannot start), the host's own user units
  provide the standard targets, and verify puts the directory of the unit checked
  first in the search path. The Exec*= programs are then looked up on the host,
  which is right for `/bin/bash -o pipefail -c '...'`; the rex-* commands inside
  the script are checked against DESTDIR separately. Again any output fails, and
  a broken user unit proves it.
- timers' OnCalendar= expressions go through `systemd-analyze calendar`;
- plists are read with plistlib and their keys checked explicitly (no launchd here);
- man pages must be silent under `mandoc -T lint -W warning`, and document every
  long option that the command's --help shows;
- the generated key list in rex.5 must equal what tools/gen-rex5.py produces now;
- every job reports: services start rex-report@%N.service on failure and report start
  and success themselves, plists run their job under `rex-report run`.
"""

import os
import plistlib
import re
import shlex
import shutil
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow   # make install, systemd-analyze

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.join(ROOT, "bin")
MAN = os.path.join(ROOT, "man")
PREFIX = "/usr"
BINDIR = PREFIX + "/bin"
UNITDIR = "usr/lib/systemd/system"
USER_UNITDIR = "usr/lib/systemd/user"
LAUNCHDDIR = "usr/share/rex/launchd"

COMMANDS = sorted(os.listdir(BIN))
MANPAGES = sorted(n for n in os.listdir(MAN) if re.fullmatch(r".+\.[1-8]", n))
UNITS = sorted(n for n in os.listdir(os.path.join(ROOT, "units")) if n.endswith((".service", ".timer")))
USER_UNITS = sorted(n for n in os.listdir(os.path.join(ROOT, "units", "user"))
                    if n.endswith((".service", ".timer")))
PLISTS = sorted(n for n in os.listdir(os.path.join(ROOT, "launchd")) if n.endswith(".plist"))


# The unit that OnFailure= of every job starts; not a job itself.
REPORT_UNIT = "rex-report@.service"


def _source(*parts):
    with open(os.path.join(ROOT, *parts), encoding="utf-8") as f:
        return f.read()


# Long-running services (Type=notify, e.g. rex-web) and KeepAlive daemons are no jobs:
# no timer, no oneshot, no rex-report around them.
DAEMON_SERVICES = [u for u in UNITS if u.endswith(".service") and "\nType=notify\n" in _source("units", u)]
DAEMON_PLISTS = [p for p in PLISTS if "<key>KeepAlive</key>" in _source("launchd", p)]
JOB_PLISTS = [p for p in PLISTS if p not in DAEMON_PLISTS]
JOB_SERVICES = [u for u in UNITS if u.endswith(".service") and u not in (REPORT_UNIT, *DAEMON_SERVICES)]
USER_JOB_SERVICES = [u for u in USER_UNITS if u.endswith(".service") and u != REPORT_UNIT]

# Targets every service or timer reaches through default dependencies or [Install].
STANDARD_TARGETS = ("sysinit.target", "basic.target", "shutdown.target", "timers.target",
                    "network.target", "network-online.target", "multi-user.target")


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PG", "REX_", "XDG_", "JOURNAL_STREAM", "MAKE", "DESTDIR"))}
    env.update(LC_ALL="C.UTF-8", **extra)
    return env


# --- (a) make install ------------------------------------------------------------

@pytest.fixture(scope="module")
def destdir(tmp_path_factory):
    dest = tmp_path_factory.mktemp("destdir")
    result = subprocess.run(["make", "-C", ROOT, "install", f"DESTDIR={dest}", f"PREFIX={PREFIX}",
                             "PIP_DEPS=--no-deps"], env=clean_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, timeout=600)
    assert result.returncode == 0, result.stdout.decode("utf-8", "replace")[-4000:]
    return str(dest)


def installed_files(destdir, *subdirs):
    for sub in subdirs:
        top = os.path.join(destdir, sub)
        for name in sorted(os.listdir(top)):
            path = os.path.join(top, name)
            if os.path.isfile(path):
                yield path


def test_install_puts_every_file_in_place(destdir):
    for command in COMMANDS:
        path = os.path.join(destdir, "usr/bin", command)
        assert os.path.isfile(path), f"{command} not installed"
        assert os.access(path, os.X_OK), f"{command} not executable"
        with open(path, encoding="utf-8") as f:
            assert f.readline() == "#!/usr/bin/python3\n"
    for page in MANPAGES:
        section = page.rsplit(".", 1)[1]
        assert os.path.isfile(os.path.join(destdir, f"usr/share/man/man{section}", page)), page
    for section in "157":
        assert os.listdir(os.path.join(destdir, f"usr/share/man/man{section}")), f"no page in man{section}"
    for unit in UNITS:
        assert os.path.isfile(os.path.join(destdir, UNITDIR, unit)), unit
    assert USER_UNITS, "no user units in units/user"
    for unit in USER_UNITS:
        assert os.path.isfile(os.path.join(destdir, USER_UNITDIR, unit)), unit
        if unit not in UNITS:   # rex-report@.service exists in both, each for its manager
            assert not os.path.exists(os.path.join(destdir, UNITDIR, unit)), f"user unit {unit} installed as a system unit"
    for unitdir, source in ((UNITDIR, "units"), (USER_UNITDIR, "units/user")):
        with open(os.path.join(ROOT, source, REPORT_UNIT), encoding="utf-8") as f:
            expected = f.read().replace("@BINDIR@", BINDIR)
        with open(os.path.join(destdir, unitdir, REPORT_UNIT), encoding="utf-8") as f:
            assert f.read() == expected, f"{unitdir}/{REPORT_UNIT} is not {source}/{REPORT_UNIT}"
    for plist in PLISTS:
        assert os.path.isfile(os.path.join(destdir, LAUNCHDDIR, plist)), plist
    assert os.path.isfile(os.path.join(destdir, "usr/lib/rex/rex/__init__.py")), "library not installed"
    assert not os.path.exists(os.path.join(destdir, "usr/lib/rex/bin")), "pip's script copies left behind"


def test_installed_files_name_the_bindir_and_never_destdir(destdir):
    checked = 0
    for path in installed_files(destdir, "usr/bin", UNITDIR, USER_UNITDIR, LAUNCHDDIR, "usr/share/man/man1",
                                "usr/share/man/man5", "usr/share/man/man7"):
        with open(path, encoding="utf-8") as f:
            text = f.read()
        assert "@BINDIR@" not in text, f"{path}: @BINDIR@ not replaced"
        assert destdir not in text, f"{path}: DESTDIR baked into an installed file"
        checked += 1
    assert checked >= len(COMMANDS) + len(UNITS) + len(USER_UNITS) + len(PLISTS) + len(MANPAGES)
    for unitdir, unit in [(UNITDIR, u) for u in UNITS] + [(USER_UNITDIR, u) for u in USER_UNITS]:
        with open(os.path.join(destdir, unitdir, unit), encoding="utf-8") as f:
            text = f.read()
        if unit.endswith(".service"):
            assert re.search(re.escape(BINDIR) + r"/(rex|proxy)(-|d\b)", text), f"{unit}: ExecStart runs no {BINDIR}/rex-*"


def test_installed_commands_run_from_destdir(destdir):
    """The installed scripts find the library installed beside them (not the checkout's)."""
    pytest.importorskip("click")    # --no-deps: the interpreter must bring click and ruamel itself
    pytest.importorskip("ruamel.yaml")
    for command in COMMANDS:
        result = subprocess.run([sys.executable, os.path.join(destdir, "usr/bin", command), "--version"],
                                env=clean_env(), cwd=destdir, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, timeout=60)
        assert result.returncode == 0, result.stderr.decode()
        assert command in result.stdout.decode()


# --- (b) systemd-analyze verify ------------------------------------------------

def unit_settings(path):
    """[(section, key, value)] of a unit file (continuation lines joined)."""
    out, section, pending = [], None, ""
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = pending + raw.rstrip("\n")
            pending = ""
            if line.endswith("\\"):
                pending = line[:-1] + " "
                continue
            line = line.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("[") and line.endswith("]"):
                section = line[1:-1]
                continue
            key, _, value = line.partition("=")
            out.append((section, key.strip(), value.strip()))
    return out


def exec_programs(path):
    """The program of each Exec*= line, without systemd's prefixes (-, +, !, @, :)."""
    programs = []
    for section, key, value in unit_settings(path):
        if section == "Service" and key.startswith("Exec") and value:
            programs.append(shlex.split(value.lstrip("-+!@:"))[0])
    return programs


def bash_pipelines(path):
    """The -c scripts of `/bin/bash -o pipefail -c '...'` ExecStart lines."""
    scripts = []
    for section, key, value in unit_settings(path):
        if section == "Service" and key == "ExecStart":
            argv = shlex.split(value.lstrip("-+!@:"))
            if argv[0].endswith("/bash"):
                assert argv[1:3] == ["-o", "pipefail"], f"{path}: {value}: the pipeline needs pipefail"
                scripts.append(argv[argv.index("-c") + 1])
    return scripts


@pytest.fixture(scope="module")
def verify_root(destdir, tmp_path_factory):
    """DESTDIR plus what systemd-analyze --root needs: host programs and standard targets."""
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    root = str(tmp_path_factory.mktemp("verifyroot") / "root")
    shutil.copytree(destdir, root, symlinks=True)
    # The host's /bin may be a symlink to usr/bin (merged /usr); mirror that.
    for top in ("bin", "sbin", "lib"):
        host = "/" + top
        if os.path.islink(host) and not os.path.lexists(os.path.join(root, top)):
            os.symlink(os.readlink(host), os.path.join(root, top))
    for unit in UNITS:
        for program in exec_programs(os.path.join(root, UNITDIR, unit)):
            target = os.path.join(root, program.lstrip("/"))
            if not os.path.exists(target):
                assert os.path.exists(program), f"{unit}: {program} exists neither installed nor on this host"
                os.makedirs(os.path.dirname(target), exist_ok=True)
                shutil.copy2(os.path.realpath(program), target)
    unitdir = os.path.join(root, UNITDIR)
    for target in STANDARD_TARGETS:
        path = os.path.join(unitdir, target)
        if not os.path.exists(path):
            with open(path, "w", encoding="utf-8") as f:
                f.write(f"[Unit]\nDescription=Stand-in for {target}\n")
    return root


def systemd_verify(root, unit_path):
    result = subprocess.run(["systemd-analyze", "verify", "--man=no", f"--root={root}", unit_path],
                            env=clean_env(SYSTEMD_LOG_COLOR="0"), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, timeout=120)
    return result.returncode, result.stdout.decode("utf-8", "replace").strip()


def test_systemd_verify_can_fail(verify_root):
    """A unit with an unknown key and a missing program must not pass the check below."""
    path = os.path.join(verify_root, UNITDIR, "rex-broken-selftest.service")
    with open(path, "w", encoding="utf-8") as f:
        f.write("[Service]\nType=oneshot\nNicee=19\nExecStart=/usr/bin/rex-no-such-program\n")
    try:
        code, output = systemd_verify(verify_root, path)
    finally:
        os.unlink(path)
    assert "Nicee" in output and "rex-no-such-program" in output, output
    assert code != 0


@pytest.mark.parametrize("unit", UNITS)
def test_unit_passes_systemd_analyze_verify(verify_root, unit):
    code, output = systemd_verify(verify_root, os.path.join(verify_root, UNITDIR, unit))
    assert code == 0 and output == "", output


@pytest.mark.parametrize("unit", JOB_SERVICES)
def test_service_is_a_background_oneshot_with_hardening(destdir, unit):
    path = os.path.join(destdir, UNITDIR, unit)
    settings = {(s, k): v for s, k, v in unit_settings(path)}
    service = {k: v for (s, k), v in settings.items() if s == "Service"}
    assert service.get("Type") == "oneshot"
    assert settings.get(("Unit", "Documentation"), "").startswith("man:")
    expected = {"Nice": "19", "CPUSchedulingPolicy": "batch", "IOSchedulingClass": "best-effort",
                "IOSchedulingPriority": "7", "NoNewPrivileges": "yes", "PrivateTmp": "yes",
                "PrivateDevices": "yes", "ProtectSystem": "strict", "ProtectKernelTunables": "yes",
                "ProtectKernelModules": "yes", "ProtectKernelLogs": "yes", "ProtectControlGroups": "yes",
                "RestrictNamespaces": "yes", "LockPersonality": "yes",
                "SystemCallFilter": "@system-service", "StateDirectory": "rex"}
    for key, value in expected.items():
        assert service.get(key) == value, f"{unit}: {key}={service.get(key)}, expected {value}"
    assert service.get("ProtectHome") in ("yes", "read-only", "tmpfs")
    assert set(service["RestrictAddressFamilies"].split()) == {"AF_UNIX", "AF_INET", "AF_INET6"}
    assert any(k == "Environment" and v.startswith("REX_BACKUP_ROOT=/") for s, k, v in unit_settings(path))
    for script in bash_pipelines(path):
        commands = re.findall(r"(/\S+/rex-[\w-]+)", script)
        assert len(commands) >= 2 and "|" in script, script
        for command in commands:
            assert command.startswith(BINDIR + "/")
            assert os.path.isfile(os.path.join(destdir, command.lstrip("/"))), f"{unit}: {command} not installed"


def test_pgdump_pipeline_writes_only_the_backup_root(destdir):
    settings = unit_settings(os.path.join(destdir, UNITDIR, "rex-pgdump.service"))
    values = {k: v for s, k, v in settings if s == "Service"}
    assert values["ReadWritePaths"].lstrip("-") == "/var/backups/rex"
    assert any(k == "Environment" and v == "REX_BACKUP_ROOT=/var/backups/rex" for s, k, v in settings)
    assert any(k == "EnvironmentFile" and v == "-/etc/rex/rex.env" for s, k, v in settings)
    [script] = bash_pipelines(os.path.join(destdir, UNITDIR, "rex-pgdump.service"))
    assert script == f"{BINDIR}/rex-pgdump --all | {BINDIR}/rex-verify"


def test_template_reads_the_instance_profile(destdir):
    settings = unit_settings(os.path.join(destdir, UNITDIR, "rex-pgdump@.service"))
    assert ("Service", "EnvironmentFile", "-/etc/rex/%i.env") in settings
    assert ("Service", "Environment", "REX_CONFIG=/etc/rex/%i.yaml") in settings


@pytest.mark.parametrize("unit", DAEMON_SERVICES)
def test_daemon_is_notify_with_a_watchdog_and_hardening(destdir, unit):
    """A long-running service tells systemd when it is ready and that it lives, and is
    sandboxed at least as tightly as the jobs (no capability at all)."""
    settings = unit_settings(os.path.join(destdir, UNITDIR, unit))
    service = {k: v for s, k, v in settings if s == "Service"}
    assert service["Type"] == "notify" and service["NotifyAccess"] == "main"
    assert service["WatchdogSec"] and service["Restart"] == "on-failure"
    assert service["ExecStart"].startswith(BINDIR + "/")
    assert any(s == "Unit" and k == "Documentation" and v.startswith("man:") for s, k, v in settings)
    for key, value in {"NoNewPrivileges": "yes", "PrivateTmp": "yes", "PrivateDevices": "yes",
                       "ProtectSystem": "strict", "ProtectHome": "yes", "ProtectKernelTunables": "yes",
                       "ProtectKernelModules": "yes", "ProtectControlGroups": "yes", "RestrictNamespaces": "yes",
                       "LockPersonality": "yes", "StateDirectory": "rex", "CapabilityBoundingSet": ""}.items():
        if key == "CapabilityBoundingSet" and unit.startswith("proxy-worker"):
            # It writes proxies into media directories of any owner: exactly these two.
            value = "CAP_DAC_OVERRIDE CAP_FOWNER"
        assert service.get(key) == value, f"{unit}: {key}={service.get(key)}, expected {value}"
    assert [v for s, k, v in settings if k == "WantedBy"] == ["multi-user.target"]


def test_web_service_only_reads_the_backup_root(destdir):
    settings = unit_settings(os.path.join(destdir, UNITDIR, "rex-web.service"))
    service = {k: v for s, k, v in settings if s == "Service"}
    assert service["ExecStart"] == f"{BINDIR}/rex-web"
    assert service["ReadOnlyPaths"] == "/var/backups/rex" and "ReadWritePaths" not in service
    assert ("Service", "Environment", "REX_BACKUP_ROOT=/var/backups/rex") in settings


@pytest.mark.parametrize("unit", ["proxy-worker.service", "proxy-worker@.service"])
def test_proxy_worker_is_a_watched_restarted_background_service_with_hardening(destdir, unit):
    """proxy-worker: Type=notify with a watchdog, restarted on failure, a warm stop
    (SIGTERM to the main process only, bounded), background priority, the sandbox."""
    path = os.path.join(destdir, UNITDIR, unit)
    settings = unit_settings(path)
    service = {k: v for s, k, v in settings if s == "Service"}
    assert service["Type"] == "notify" and service["NotifyAccess"] == "main"
    assert service["ExecStart"].split()[0] == f"{BINDIR}/proxy-worker"
    assert os.path.isfile(os.path.join(destdir, BINDIR.lstrip("/"), "proxy-worker"))
    assert re.fullmatch(r"\d+(s|min)", service["WatchdogSec"]), service["WatchdogSec"]
    assert service["Restart"] == "on-failure" and service.get("RestartSec")
    # Warm shutdown: only the main process hears SIGTERM (it tells the workers to
    # finish their encodes); the encodes are not killed with it.
    assert service["KillMode"] == "mixed"
    assert re.fullmatch(r"\d+(s|min|h)", service["TimeoutStopSec"]), service["TimeoutStopSec"]
    for key, value in {"Nice": "19", "CPUSchedulingPolicy": "batch", "IOSchedulingClass": "best-effort",
                       "IOSchedulingPriority": "7", "NoNewPrivileges": "yes", "PrivateTmp": "yes",
                       "PrivateDevices": "yes", "ProtectSystem": "strict", "ProtectKernelTunables": "yes",
                       "ProtectKernelModules": "yes", "ProtectKernelLogs": "yes", "ProtectControlGroups": "yes",
                       "RestrictNamespaces": "yes", "LockPersonality": "yes",
                       "SystemCallFilter": "@system-service", "StateDirectory": "rex"}.items():
        assert service.get(key) == value, f"{unit}: {key}={service.get(key)}, expected {value}"
    assert set(service["RestrictAddressFamilies"].split()) == {"AF_UNIX", "AF_INET", "AF_INET6"}
    # The Redis password only from the environment file, never on the command line.
    assert ("Service", "EnvironmentFile", "-/etc/rex/rex.env") in settings
    assert "PASSWORD" not in service["ExecStart"] and "redis://" not in service["ExecStart"]
    assert [v for s, k, v in settings if k == "OnFailure"] == ["rex-report@%N.service"]
    assert not [v for s, k, v in settings if k in ("ExecStartPost", "ExecStopPost")], "a service never 'succeeds'"
    assert [v for s, k, v in settings if s == "Install" and k == "WantedBy"] == ["multi-user.target"]
    assert any(s == "Unit" and k == "Documentation" and v.startswith("man:proxy-worker(1)") for s, k, v in settings)
    if unit.endswith("@.service"):
        assert ("Service", "EnvironmentFile", "-/etc/rex/%i.env") in settings
        assert ("Service", "Environment", "REX_CONFIG=/etc/rex/%i.yaml") in settings


@pytest.mark.parametrize("unit", DAEMON_SERVICES)
def test_daemon_security_exposure_is_low(verify_root, unit):
    """`systemd-analyze security` scores the sandbox (0 best, 10 worst): under 3, better
    than the oneshot jobs (rex-pgdump.service: 4.0)."""
    result = subprocess.run(["systemd-analyze", "security", "--offline=true", f"--root={verify_root}",
                             "--no-pager", os.path.join(verify_root, UNITDIR, unit)],
                            env=clean_env(SYSTEMD_LOG_COLOR="0"), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, timeout=120)
    output = result.stdout.decode("utf-8", "replace")
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d)", output)
    assert match, output[-2000:]
    assert float(match.group(1)) < 3.0, output[-2000:]


# --- (b2) systemd user units -------------------------------------------------------

USER_TARGETS = ("basic.target", "shutdown.target", "timers.target", "default.target")
HOST_USER_UNIT_DIRS = ("/etc/systemd/user", "/usr/lib/systemd/user", "/lib/systemd/user")


@pytest.fixture(scope="module")
def user_unit_dir(destdir, tmp_path_factory):
    """A copy of the installed user units, and a private runtime directory for the user manager."""
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    missing = [t for t in USER_TARGETS
               if not any(os.path.exists(os.path.join(d, t)) for d in HOST_USER_UNIT_DIRS)]
    if missing:
        pytest.skip(f"this host has no systemd user manager units ({', '.join(missing)})")
    top = tmp_path_factory.mktemp("userunits")
    units = str(top / "user")
    shutil.copytree(os.path.join(destdir, USER_UNITDIR), units)
    # The user manager looks programs up on the host, where nothing is installed:
    # in this copy the installed commands are named by their path under DESTDIR.
    for name in os.listdir(units):
        path = os.path.join(units, name)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        with open(path, "w", encoding="utf-8") as f:
            f.write(text.replace(f"{BINDIR}/rex-", f"{destdir}{BINDIR}/rex-")
                    .replace(f"{BINDIR}/proxy-", f"{destdir}{BINDIR}/proxy-"))
    runtime = top / "runtime"
    runtime.mkdir(mode=0o700)
    return units, str(runtime)


def systemd_verify_user(unit_dir, runtime, name):
    result = subprocess.run(["systemd-analyze", "verify", "--user", "--man=no", os.path.join(unit_dir, name)],
                            env=clean_env(SYSTEMD_LOG_COLOR="0", XDG_RUNTIME_DIR=runtime),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    return result.returncode, result.stdout.decode("utf-8", "replace").strip()


def test_systemd_verify_user_can_fail(user_unit_dir):
    """The --user check rejects a unit with an unknown key and a missing program."""
    unit_dir, runtime = user_unit_dir
    name = "rex-broken-selftest.service"
    with open(os.path.join(unit_dir, name), "w", encoding="utf-8") as f:
        f.write("[Service]\nType=oneshot\nNicee=19\nExecStart=/usr/bin/rex-no-such-program\n")
    try:
        code, output = systemd_verify_user(unit_dir, runtime, name)
    finally:
        os.unlink(os.path.join(unit_dir, name))
    assert "Nicee" in output and "rex-no-such-program" in output, output
    assert code != 0


@pytest.mark.parametrize("unit", USER_UNITS)
def test_user_unit_passes_systemd_analyze_verify(user_unit_dir, unit):
    unit_dir, runtime = user_unit_dir
    for program in exec_programs(os.path.join(unit_dir, unit)):
        assert os.path.exists(program), f"{unit}: {program} does not exist on this host"
    code, output = systemd_verify_user(unit_dir, runtime, unit)
    assert code == 0 and output == "", output


# Sandboxing that a user manager can apply only inside a user namespace (it then
# implies PrivateUsers=), which many systems disable: the unit would not start.
NAMESPACE_SETTINGS = ("PrivateTmp", "PrivateDevices", "PrivateUsers", "PrivateNetwork", "ProtectSystem",
                      "ProtectHome", "ProtectKernelTunables", "ProtectKernelModules", "ProtectKernelLogs",
                      "ProtectControlGroups", "ProtectClock", "ProtectHostname", "ReadWritePaths",
                      "ReadOnlyPaths", "InaccessiblePaths", "RestrictNamespaces", "StateDirectory",
                      "User", "Group", "DynamicUser")


@pytest.mark.parametrize("unit", USER_JOB_SERVICES)
def test_user_service_is_a_background_oneshot_without_system_sandboxing(destdir, unit):
    path = os.path.join(destdir, USER_UNITDIR, unit)
    settings = unit_settings(path)
    service = {k: v for s, k, v in settings if s == "Service"}
    assert service.get("Type") == "oneshot"
    assert any(s == "Unit" and k == "Documentation" and v.startswith("man:") for s, k, v in settings)
    for key, value in {"Nice": "19", "CPUSchedulingPolicy": "batch", "IOSchedulingClass": "best-effort",
                       "IOSchedulingPriority": "7", "NoNewPrivileges": "yes"}.items():
        assert service.get(key) == value, f"{unit}: {key}={service.get(key)}, expected {value}"
    present = sorted(k for k in service if k in NAMESPACE_SETTINGS)
    assert not present, f"{unit}: {present} break a user unit where user namespaces are off"
    assert not any(k == "WantedBy" and "multi-user" in v for s, k, v in settings)
    scripts = bash_pipelines(path)
    assert scripts, f"{unit}: ExecStart is not a pipefail pipeline"
    for script in scripts:
        for command in re.findall(r"(/\S+/rex-[\w-]+)", script):
            assert command.startswith(BINDIR + "/")
            assert os.path.isfile(os.path.join(destdir, command.lstrip("/"))), f"{unit}: {command} not installed"


def test_export_user_unit_runs_the_session_pipeline(destdir):
    path = os.path.join(destdir, USER_UNITDIR, "rex-export.service")
    assert bash_pipelines(path) == [EXPORT_PIPELINE]
    settings = unit_settings(path)
    docs = " ".join(v for s, k, v in settings if s == "Unit" and k == "Documentation").split()
    assert docs[0] == "man:rex-export(1)"


# --- (b3) reporting: OnFailure= and the report units ---------------------------------

def report_lines(path):
    """(ExecStartPre reports, ExecStartPost reports, OnFailure=, ExecStopPost=) of a job."""
    settings = unit_settings(path)
    pre = [v for s, k, v in settings if s == "Service" and k == "ExecStartPre"]
    post = [v for s, k, v in settings if s == "Service" and k == "ExecStartPost"]
    on_failure = [v for s, k, v in settings if s == "Unit" and k == "OnFailure"]
    stop_post = [v for s, k, v in settings if s == "Service" and k == "ExecStopPost"]
    return pre, post, on_failure, stop_post


@pytest.mark.parametrize("unitdir,unit", [(UNITDIR, u) for u in JOB_SERVICES] +
                         [(USER_UNITDIR, u) for u in USER_JOB_SERVICES])
def test_every_job_reports_start_success_and_failure(destdir, unitdir, unit):
    pre, post, on_failure, stop_post = report_lines(os.path.join(destdir, unitdir, unit))
    report = f"{BINDIR}/rex-report"
    # start first, before anything that could fail; "-": a monitor never fails the job
    assert pre and pre[0].startswith("-") and pre[0].endswith(f"{report} start %N"), pre
    assert len(post) == 1 and post[0].startswith("-") and post[0].endswith(f"{report} success %N"), post
    assert on_failure == ["rex-report@%N.service"]
    assert os.path.isfile(os.path.join(destdir, unitdir, REPORT_UNIT)), f"{unit}: {REPORT_UNIT} not installed"
    assert not stop_post, f"{unit}: ExecStopPost= would report a failure a second time"
    assert os.path.isfile(os.path.join(destdir, report.lstrip("/")))


@pytest.mark.parametrize("unitdir", [UNITDIR, USER_UNITDIR])
def test_report_unit_reports_the_failure_from_systemd(destdir, unitdir):
    path = os.path.join(destdir, unitdir, REPORT_UNIT)
    settings = unit_settings(path)
    service = {k: v for s, k, v in settings if s == "Service"}
    assert service["Type"] == "oneshot"
    assert service["ExecStart"] == f"{BINDIR}/rex-report failure %i --from-systemd"
    assert not any(k == "OnFailure" for s, k, v in settings), "a failing report would start another"
    assert not any(k in ("User", "DynamicUser", "PrivateNetwork", "IPAddressDeny") for k in service), \
        "the report must read the journal and reach the network"
    if unitdir == UNITDIR:
        assert {"AF_INET", "AF_INET6"} <= set(service["RestrictAddressFamilies"].split())
        assert service["ProtectSystem"] == "strict" and "ReadWritePaths" not in service
        assert service["StateDirectory"] == "rex", "the failure closes the job's run in the run history"


@pytest.mark.parametrize("job", ["rex-pgdump", "rex-pgdump@studio-b", "rex-pgdump@studio\\x2db"])
def test_report_unit_passes_systemd_analyze_verify_as_an_instance(verify_root, job):
    """An instance named like a failed job, as OnFailure=rex-report@%N.service makes it;
    systemd takes the first '@' as the template's, so a template job's own '@' is fine."""
    unitdir = os.path.join(verify_root, UNITDIR)
    instance = os.path.join(unitdir, f"rex-report@{job}.service")
    os.symlink(REPORT_UNIT, instance)
    try:
        code, output = systemd_verify(verify_root, instance)
    finally:
        os.unlink(instance)
    assert code == 0 and output == "", output


# --- (c) timers ------------------------------------------------------------------

TIMERS = [(UNITDIR, u) for u in UNITS if u.endswith(".timer")] + \
    [(USER_UNITDIR, u) for u in USER_UNITS if u.endswith(".timer")]


@pytest.mark.parametrize("unitdir,timer", TIMERS)
def test_timer_calendar_and_catch_up(destdir, unitdir, timer):
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    settings = [(k, v) for s, k, v in unit_settings(os.path.join(destdir, unitdir, timer)) if s == "Timer"]
    calendars = [v for k, v in settings if k == "OnCalendar"]
    assert calendars, f"{timer}: no OnCalendar="
    for expression in calendars:
        result = subprocess.run(["systemd-analyze", "calendar", expression], env=clean_env(),
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        assert result.returncode == 0, result.stdout.decode()
    keys = dict(settings)
    assert keys.get("Persistent") == "true"
    assert keys.get("RandomizedDelaySec") and keys.get("AccuracySec")
    service = timer[: -len(".timer")] + ".service"
    assert os.path.isfile(os.path.join(destdir, unitdir, service)), f"{timer}: no {service} beside it to start"
    installs = [v for s, k, v in unit_settings(os.path.join(destdir, unitdir, timer)) if k == "WantedBy"]
    assert installs == ["timers.target"], installs


# --- (d) launchd plists --------------------------------------------------------------

EXPORT_PIPELINE = f"{BINDIR}/rex-export --idle 5 | {BINDIR}/rex-verify | {BINDIR}/rex-dedupe"
PROXY_PIPELINE = f"{BINDIR}/proxy-scan --json | {BINDIR}/proxy-encode --json | {BINDIR}/proxy-link --yes"
CALENDAR_KEYS = {"Minute": (0, 59), "Hour": (0, 23), "Day": (1, 31), "Weekday": (0, 7), "Month": (1, 12)}


@pytest.mark.parametrize("plist", JOB_PLISTS)
def test_plist(destdir, plist):
    with open(os.path.join(destdir, LAUNCHDDIR, plist), "rb") as f:
        job = plistlib.load(f)
    assert isinstance(job.get("Label"), str) and job["Label"] == plist[: -len(".plist")]
    wrapped = job["ProgramArguments"]
    assert isinstance(wrapped, list) and wrapped and all(isinstance(a, str) for a in wrapped)
    # launchd has no OnFailure=: the job reports itself, under the same name as its unit.
    assert wrapped[:4] == [f"{BINDIR}/rex-report", "run", "rex-" + job["Label"].rsplit(".", 1)[1], "--"], wrapped
    assert os.path.isfile(os.path.join(destdir, wrapped[0].lstrip("/")))
    argv = wrapped[4:]
    program = argv[0]
    assert os.path.isabs(program), f"launchd expands nothing: {program} must be absolute"
    if program == "/bin/bash":
        assert argv[1:3] == ["-o", "pipefail"] and argv[3] == "-c", argv
        commands = re.findall(r"(/\S+/(?:rex|proxy)-[\w-]+)", argv[4])
        assert commands, argv[4]
    else:
        commands = [program]
    for command in commands:
        assert command.startswith(BINDIR + "/"), command
        assert os.path.isfile(os.path.join(destdir, command.lstrip("/"))), f"{command} not installed"
    intervals = job["StartCalendarInterval"]
    intervals = intervals if isinstance(intervals, list) else [intervals]
    assert intervals
    for interval in intervals:
        assert isinstance(interval, dict) and interval, interval
        for key, value in interval.items():
            assert key in CALENDAR_KEYS, f"unknown StartCalendarInterval key {key}"
            low, high = CALENDAR_KEYS[key]
            assert isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
    assert job.get("ProcessType") == "Background"
    assert job.get("LowPriorityIO") is True
    assert isinstance(job.get("Nice"), int) and job["Nice"] > 0
    for key in ("StandardOutPath", "StandardErrorPath"):
        assert os.path.isabs(job[key]) and "~" not in job[key] and "$" not in job[key], job[key]
    if job.get("LimitLoadToSessionType") == "Aqua":
        # A LaunchAgent: runs in the user's session, backs up to the user's own root.
        for key in ("StandardOutPath", "StandardErrorPath"):
            assert job[key].startswith("/tmp/"), f"an agent cannot write {job[key]}"
        assert "REX_BACKUP_ROOT" not in job.get("EnvironmentVariables", {})
        assert "UserName" not in job
    else:
        # A LaunchDaemon: runs as root at boot.
        for key in ("StandardOutPath", "StandardErrorPath"):
            assert job[key].startswith("/var/log/rex/"), job[key]
        assert job["EnvironmentVariables"]["REX_BACKUP_ROOT"] == "/var/backups/rex"
        assert "rex-export" not in " ".join(argv), "rex-export needs the user's session: a LaunchAgent"


@pytest.mark.parametrize("plist", ["org.rex.proxy-worker.plist"])
def test_service_plist_keeps_the_worker_alive_in_the_background(destdir, plist):
    """proxy-worker as a LaunchDaemon: started at load, started again whenever it exits
    (not faster than ThrottleInterval), a bounded warm stop, background priority."""
    with open(os.path.join(destdir, LAUNCHDDIR, plist), "rb") as f:
        job = plistlib.load(f)
    assert job["Label"] == plist[: -len(".plist")]
    assert job["ProgramArguments"] == [f"{BINDIR}/proxy-worker"]
    assert os.path.isfile(os.path.join(destdir, BINDIR.lstrip("/"), "proxy-worker"))
    assert job["KeepAlive"] is True and job["RunAtLoad"] is True
    assert "StartCalendarInterval" not in job and "StartInterval" not in job
    assert isinstance(job["ThrottleInterval"], int) and job["ThrottleInterval"] >= 10
    assert isinstance(job["ExitTimeOut"], int) and job["ExitTimeOut"] >= 60, "time to finish an encode"
    assert job["ProcessType"] == "Background" and job["LowPriorityIO"] is True and job["Nice"] > 0
    for key in ("StandardOutPath", "StandardErrorPath"):
        assert job[key].startswith("/var/log/rex/"), job[key]
    text = repr(job)
    assert "PASSWORD" not in text and "redis://" not in text, "secrets go in the password file"


def test_pgdump_plist_runs_hourly_the_unit_pipeline(destdir):
    with open(os.path.join(destdir, LAUNCHDDIR, "org.rex.pgdump.plist"), "rb") as f:
        job = plistlib.load(f)
    assert job["StartCalendarInterval"] == {"Minute": 0}
    assert job["ProgramArguments"] == [f"{BINDIR}/rex-report", "run", "rex-pgdump", "--",
                                       "/bin/bash", "-o", "pipefail", "-c",
                                       f"{BINDIR}/rex-pgdump --all | {BINDIR}/rex-verify"]


def test_export_plist_is_an_agent_running_the_unit_pipeline(destdir):
    with open(os.path.join(destdir, LAUNCHDDIR, "org.rex.export.plist"), "rb") as f:
        job = plistlib.load(f)
    assert job["LimitLoadToSessionType"] == "Aqua"
    assert job["StartCalendarInterval"] == {"Minute": 0}
    assert job["ProgramArguments"] == [f"{BINDIR}/rex-report", "run", "rex-export", "--",
                                       "/bin/bash", "-o", "pipefail", "-c", EXPORT_PIPELINE]
    assert job["ProcessType"] == "Background" and job["LowPriorityIO"] is True
    assert job["StandardOutPath"] == job["StandardErrorPath"] == "/tmp/rex-export.log"


def test_proxy_plist_is_an_agent_running_the_unit_pipeline(destdir):
    with open(os.path.join(destdir, LAUNCHDDIR, "org.rex.proxy.plist"), "rb") as f:
        job = plistlib.load(f)
    assert job["LimitLoadToSessionType"] == "Aqua"
    assert job["ProgramArguments"] == [f"{BINDIR}/rex-report", "run", "rex-proxy", "--",
                                       "/bin/bash", "-o", "pipefail", "-c", PROXY_PIPELINE]
    assert job["ProcessType"] == "Background" and job["LowPriorityIO"] is True
    assert sorted(i["Minute"] for i in job["StartCalendarInterval"]) == [0, 15, 30, 45]


def test_proxy_user_unit_runs_the_same_pipeline(destdir):
    path = os.path.join(destdir, USER_UNITDIR, "rex-proxy.service")
    settings = {k: v for _s, k, v in unit_settings(path)}
    assert settings["ExecStart"] == f"/bin/bash -o pipefail -c '{PROXY_PIPELINE}'"
    assert settings["Nice"] == "19" and settings["IOSchedulingClass"] == "best-effort"



def test_prune_jobs_prune_the_whole_backup_root_daily(destdir):
    """System unit, user unit and both plists run `rex-prune --all` once a day."""
    system = os.path.join(destdir, UNITDIR, "rex-prune.service")
    assert {k: v for _s, k, v in unit_settings(system)}["ExecStart"] == f"{BINDIR}/rex-prune --all"
    assert bash_pipelines(os.path.join(destdir, USER_UNITDIR, "rex-prune-exports.service")) == [
        f"{BINDIR}/rex-prune --all"]
    for timer in (os.path.join(destdir, UNITDIR, "rex-prune.timer"),
                  os.path.join(destdir, USER_UNITDIR, "rex-prune-exports.timer")):
        calendar = {k: v for _s, k, v in unit_settings(timer)}["OnCalendar"]
        assert re.fullmatch(r"\*-\*-\* \d\d:\d\d:00", calendar), calendar
    for plist in ("org.rex.prune.plist", "org.rex.prune-exports.plist"):
        with open(os.path.join(destdir, LAUNCHDDIR, plist), "rb") as f:
            job = plistlib.load(f)
        job_name = "rex-" + job["Label"].rsplit(".", 1)[1]
        assert job["ProgramArguments"] == [f"{BINDIR}/rex-report", "run", job_name, "--", f"{BINDIR}/rex-prune",
                                           "--all"]
        assert set(job["StartCalendarInterval"]) == {"Hour", "Minute"}


def test_upload_jobs_sync_the_backup_root_nightly_with_a_bandwidth_timetable(destdir):
    """The unit and the plist run the same command with rclone's config named (no HOME) and a limit."""
    settings = unit_settings(os.path.join(destdir, UNITDIR, "rex-upload.service"))
    service = {k: v for s, k, v in settings if s == "Service"}
    assert service["ExecStart"] == f"{BINDIR}/rex-upload --sync /var/backups/rex"
    env = [v.strip('"') for s, k, v in settings if k == "Environment"]
    assert "RCLONE_CONFIG=/etc/rex/rclone.conf" in env
    assert "ReadWritePaths" not in service, "an upload only reads the backups"
    limit = next(v.split("=", 1)[1] for v in env if v.startswith("REX_UPLOAD_BWLIMIT="))
    with open(os.path.join(destdir, LAUNCHDDIR, "org.rex.upload.plist"), "rb") as f:
        job = plistlib.load(f)
    assert job["ProgramArguments"] == [f"{BINDIR}/rex-report", "run", "rex-upload", "--",
                                       f"{BINDIR}/rex-upload", "--sync", "/var/backups/rex"]
    assert job["EnvironmentVariables"]["RCLONE_CONFIG"] == "/etc/rex/rclone.conf"
    assert job["EnvironmentVariables"]["REX_UPLOAD_BWLIMIT"] == limit
    assert re.fullmatch(r"(\d\d:\d\d,(\d+[KMG]?|off) ?)+", limit), limit
    timer = {k: v for _s, k, v in unit_settings(os.path.join(destdir, UNITDIR, "rex-upload.timer"))}
    hour = int(timer["OnCalendar"].split()[1].split(":")[0])
    assert hour < 6 and job["StartCalendarInterval"]["Hour"] == hour, "nightly"

def test_rexd_service_leaves_the_running_job_to_rexd_and_reloads_with_sighup(destdir):
    """rexd, not systemd, bounds a running job on stop (KillMode=mixed: SIGTERM to rexd alone),
    within TimeoutStopSec=; its jobs run in the backup root the sandbox opens."""
    settings = unit_settings(os.path.join(destdir, UNITDIR, "rexd.service"))
    service = {k: v for s, k, v in settings if s == "Service"}
    assert service["Type"] == "notify" and service["ExecStart"] == f"{BINDIR}/rexd"
    assert service["KillMode"] == "mixed" and service["ExecReload"] == "/bin/kill -HUP $MAINPID"
    stop = int(service["TimeoutStopSec"].rstrip("min")) * 60
    sys.path.insert(0, os.path.join(ROOT, "lib"))
    from rex.config.schema import BY_NAME
    from rex.daemon.loop import KILL_WAIT
    from rex.durations import parse_duration

    assert stop > parse_duration(BY_NAME["daemon.stop_timeout"].default) + KILL_WAIT
    assert service["ReadWritePaths"] == "/var/backups/rex" and service["WatchdogSec"]
    with open(os.path.join(destdir, LAUNCHDDIR, "org.rex.rexd.plist"), "rb") as f:
        job = plistlib.load(f)
    assert job["ProgramArguments"] == [f"{BINDIR}/rexd"] and job["KeepAlive"] == {"SuccessfulExit": False}
    assert job["ExitTimeOut"] > parse_duration(BY_NAME["daemon.stop_timeout"].default) + KILL_WAIT


# --- (e) man pages ---------------------------------------------------------------------

def need_mandoc():
    if shutil.which("mandoc") is None:
        pytest.skip("mandoc is not installed")


@pytest.mark.parametrize("page", MANPAGES)
def test_man_page_is_lint_clean(page):
    need_mandoc()
    result = subprocess.run(["mandoc", "-T", "lint", "-W", "warning", os.path.join(MAN, page)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    output = result.stdout.decode("utf-8", "replace")
    assert output == "" and result.returncode == 0, output


def test_every_page_the_suite_promises_exists():
    for page in ("rex-config.1", "rex-dedupe.1", "rex-export.1", "rex-pgdump.1", "rex-verify.1", "rex.5",
                 "rex.7"):
        assert page in MANPAGES


# --- (f) --help and the man pages ---------------------------------------------------

def run_help(*argv):
    result = subprocess.run([sys.executable, *argv, "--help"], env=clean_env(), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout.decode()


def long_options(help_text):
    options = help_text.split("Options:", 1)[1].split("Commands:", 1)[0] if "Options:" in help_text else ""
    return set(re.findall(r"(?<![\w-])(--[a-z0-9][a-z0-9-]*)", options))


def subcommands(help_text):
    if "Commands:" not in help_text:
        return []
    block = help_text.split("Commands:", 1)[1]
    return re.findall(r"^  ([a-z][\w-]*)\s", block, re.M)


def rendered(page_path):
    """The page as a reader sees it (mandoc), else its source with `Fl Fl x` as `--x`."""
    if shutil.which("mandoc"):
        text = subprocess.run(["mandoc", "-T", "ascii", page_path], stdout=subprocess.PIPE,
                              check=True, timeout=60).stdout.decode("utf-8", "replace")
        return re.sub(r".\x08", "", text)
    with open(page_path, encoding="utf-8") as f:
        return re.sub(r"\bFl Fl (\S+)", r"--\1", f.read())


@pytest.mark.parametrize("command", COMMANDS)
def test_help_options_are_in_the_man_page(command):
    pytest.importorskip("click")
    script = os.path.join(BIN, command)
    text = run_help(script)
    options = long_options(text)
    assert "--help" in options and "--version" in options, text
    for sub in subcommands(text):
        options |= long_options(run_help(script, sub))
    page = os.path.join(MAN, command + ".1")
    assert os.path.exists(page), f"{command} has no man page man/{command}.1"
    shown = rendered(page)
    missing = sorted(o for o in options if not re.search(re.escape(o) + r"(?![\w-])", shown))
    assert not missing, f"man/{command}.1 does not document {missing}"


# --- (g) the generated key list of rex.5 --------------------------------------------------

BEGIN = '.\\" BEGIN GENERATED KEYS\n'
END = '.\\" END GENERATED KEYS\n'


def test_rex5_key_list_is_up_to_date(tmp_path):
    original = os.path.join(MAN, "rex.5")
    with open(original, encoding="utf-8") as f:
        text = f.read()
    assert text.count(BEGIN) == 1 and text.count(END) == 1
    block = text.split(BEGIN, 1)[1].split(END, 1)[0]
    assert ".It Cm " in block, "the generated block is empty"
    copy = tmp_path / "rex.5"
    shutil.copyfile(original, copy)
    result = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "gen-rex5.py"), str(copy)],
                            env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    assert result.returncode == 0, result.stderr.decode()
    assert copy.read_text(encoding="utf-8") == text, "man/rex.5 is stale: run `make man`"
    sys.path.insert(0, os.path.join(ROOT, "lib"))
    try:
        from rex.config import schema
    finally:
        sys.path.pop(0)
    for key in schema.KEYS:
        assert f".It Cm {key.name} " in block, key.name


def test_generator_replaces_only_the_block(tmp_path):
    page = tmp_path / "page.5"
    page.write_text(f"before\n{BEGIN}OLD-BLOCK-TEXT\n{END}after\n", encoding="utf-8")
    result = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "gen-rex5.py"), str(page)],
                            env=clean_env(), stderr=subprocess.PIPE, timeout=60)
    assert result.returncode == 0, result.stderr.decode()
    text = page.read_text(encoding="utf-8")
    assert text.startswith(f"before\n{BEGIN}.Ss ") and text.endswith(f"{END}after\n")
    assert "OLD-BLOCK-TEXT" not in text
    check = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "gen-rex5.py"), "--check", str(page)],
                           env=clean_env(), timeout=60)
    assert check.returncode == 0


@pytest.mark.parametrize("plist", [p for p in DAEMON_PLISTS if p != "org.rex.proxy-worker.plist"])
def test_daemon_plist_keeps_the_service_running(destdir, plist):
    with open(os.path.join(destdir, LAUNCHDDIR, plist), "rb") as f:
        job = plistlib.load(f)
    assert job["Label"] == plist[: -len(".plist")]
    assert job["RunAtLoad"] is True and job["KeepAlive"] == {"SuccessfulExit": False}
    assert "StartCalendarInterval" not in job and "StartInterval" not in job
    [program, *_] = job["ProgramArguments"]
    assert program.startswith(BINDIR + "/") and os.path.isfile(os.path.join(destdir, program.lstrip("/")))
    assert job["EnvironmentVariables"]["REX_BACKUP_ROOT"] == "/var/backups/rex"
    for key in ("StandardOutPath", "StandardErrorPath"):
        assert job[key].startswith("/var/log/rex/"), job[key]
    assert not any("TOKEN" in k for k in job["EnvironmentVariables"]), "a token is read from web.token_file"


def test_web_plist_runs_rex_web(destdir):
    with open(os.path.join(destdir, LAUNCHDDIR, "org.rex.web.plist"), "rb") as f:
        assert plistlib.load(f)["ProgramArguments"] == [f"{BINDIR}/rex-web"]
