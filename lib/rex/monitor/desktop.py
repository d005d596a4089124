"""A desktop notification (notify-send, osascript) for jobs of the user's session."""

from ..desktop import notify
from .event import last_lines

LINES = 3       # a notification bubble shows a few lines at most


def send(event):
    """None when shown, else why not."""
    if not notify.has_desktop():
        return "no desktop session to notify (DISPLAY or WAYLAND_DISPLAY unset, or notify-send missing)"
    message = last_lines(event.log_tail, LINES) or event.time
    if not notify.desktop(event.title, message):
        return "the notification program failed"
    return None
