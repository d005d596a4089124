"""How long the user has been idle, from whatever this desktop offers.

A configured command wins (it prints idle milliseconds, like xprintidle). Then:
macOS HIDIdleTime from ioreg; GNOME's Mutter idle monitor over D-Bus; xprintidle
on X11; logind's IdleHint. None when nothing can tell (no desktop session).
"""

import os
import re
import shutil
import subprocess
import sys
import time


def _output(argv, timeout=5):
    try:
        result = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                stdin=subprocess.DEVNULL, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.decode("utf-8", "replace") if result.returncode == 0 else None


def from_command(argv):
    text = _output(argv)
    try:
        return float(text.strip().split()[0]) / 1000.0 if text and text.strip() else None
    except ValueError:
        return None


def from_ioreg():
    text = _output(["ioreg", "-c", "IOHIDSystem", "-d", "4"])
    m = re.search(r'"HIDIdleTime"\s*=\s*(\d+)', text or "")
    return int(m.group(1)) / 1e9 if m else None


def from_mutter():
    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS") or not shutil.which("gdbus"):
        return None
    text = _output(["gdbus", "call", "--session", "--dest", "org.gnome.Mutter.IdleMonitor",
                    "--object-path", "/org/gnome/Mutter/IdleMonitor/Core",
                    "--method", "org.gnome.Mutter.IdleMonitor.GetIdletime"])
    m = re.search(r"(\d+)", text or "")
    return int(m.group(1)) / 1000.0 if m else None


def from_xprintidle():
    if not os.environ.get("DISPLAY") or not shutil.which("xprintidle"):
        return None
    return from_command(["xprintidle"])


def from_logind():
    session = os.environ.get("XDG_SESSION_ID")
    if not session or not shutil.which("loginctl"):
        return None
    text = _output(["loginctl", "show-session", session, "-p", "IdleHint", "-p", "IdleSinceHint"]) or ""
    values = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    if values.get("IdleHint") != "yes":
        return 0.0 if "IdleHint" in values else None
    since = int(values.get("IdleSinceHint") or 0)
    return max(0.0, time.time() - since / 1e6) if since else None


def idle_seconds(command=None):
    """Seconds since the last user input, or None when no source can tell."""
    if command:
        import shlex

        return from_command(shlex.split(command))
    sources = [from_ioreg] if sys.platform == "darwin" else [from_mutter, from_xprintidle, from_logind]
    for source in sources:
        value = source()
        if value is not None:
            return value
    return None


def wait_until_idle(minimum, max_wait, command=None, poll=15.0, sleep=time.sleep, clock=time.monotonic,
                    source=None):
    """Wait until idle >= `minimum` seconds, at most `max_wait`; True if idle was reached.

    With no idle source at all there is no user to disturb: True at once. `source`
    (default: `idle_seconds(command)`) gives the idle seconds, `clock` and `sleep` the
    time, so that tests need not wait.
    """
    source = source or (lambda: idle_seconds(command))
    deadline = clock() + max_wait
    while True:
        idle = source()
        if idle is None or idle >= minimum:
            return True
        remaining = deadline - clock()
        if remaining <= 0:
            return False
        sleep(min(poll, remaining, max(0.5, minimum - idle)))


def soft_schedule(minimum, max_wait, on_timeout="export", countdown=0, message="", command=None,
                  notify=None, sleep=time.sleep, clock=time.monotonic, source=None):
    """A job that should not disturb the user: wait (bounded) until they have been idle
    `minimum` seconds, then announce `message` and count `countdown` seconds down.

    False when they stayed active for `max_wait` and `on_timeout` is "skip": the job
    skips this run; otherwise True. The countdown runs only when the announcement was
    shown (no desktop, nobody to warn).
    """
    reached = wait_until_idle(minimum, max_wait, command, poll=min(15.0, max(0.5, minimum / 4)),
                              sleep=sleep, clock=clock, source=source)
    if not reached and on_timeout == "skip":
        return False
    if notify is None:
        from .notify import desktop as notify
    if countdown and notify("Rex", message):
        sleep(countdown)
    return True
