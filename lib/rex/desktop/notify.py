"""Desktop notifications: notify-send on Linux desktops, osascript on macOS,
silence where there is no desktop session. A notification never fails a job."""

import os
import shutil
import subprocess
import sys


def has_desktop():
    if sys.platform == "darwin":
        return bool(shutil.which("osascript"))
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) and bool(shutil.which("notify-send"))


def desktop(title, message):
    """Show a notification if there is a desktop; returns True if one was shown."""
    if not has_desktop():
        return False
    if sys.platform == "darwin":
        script = f"display notification {_applescript(message)} with title {_applescript(title)}"
        argv = ["osascript", "-e", script]
    else:
        argv = ["notify-send", "--app-name=Rex", title, message]
    try:
        return subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _applescript(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
