"""ServiceNotifier against a real notify socket, and silent without one."""

import os

import pytest
from hypothesis import given, strategies as st

from rex.servicenotify import ServiceNotifier


@pytest.fixture
def environ(monkeypatch):
    for name in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"):
        monkeypatch.delenv(name, raising=False)

    def set_to(**values):
        for name, value in values.items():
            monkeypatch.setenv(name, value)
    return set_to


def test_ready_status_watchdog_stopping_reach_a_real_socket(notify_socket, environ):
    environ(**notify_socket.env())
    notifier = ServiceNotifier()
    notifier.ready("listening on 127.0.0.1:8470")
    notifier.status("encoding 撮影 a.mov\n42%")
    notifier.watchdog()
    notifier.stopping()
    got = notify_socket.receive(1)
    assert got == [{"READY": "1", "STATUS": "listening on 127.0.0.1:8470"}, {"STATUS": "encoding 撮影 a.mov 42%"},
                   {"WATCHDOG": "1"}, {"STOPPING": "1"}]


def test_without_a_socket_nothing_is_sent_and_nothing_fails(environ):
    notifier = ServiceNotifier()
    assert not notifier.enabled
    notifier.ready("x")
    notifier.watchdog()
    notifier.stopping()


def test_watchdog_interval_is_half_of_watchdogsec_for_this_process_only(environ):
    assert ServiceNotifier().watchdog_interval is None
    environ(WATCHDOG_USEC="30000000")
    assert ServiceNotifier().watchdog_interval == 15
    environ(WATCHDOG_PID=str(os.getpid()))
    assert ServiceNotifier().watchdog_interval == 15
    environ(WATCHDOG_PID="1")
    assert ServiceNotifier().watchdog_interval is None


@given(st.text(alphabet=st.characters(blacklist_characters="\0", blacklist_categories=("Cs",))))
def test_any_watchdog_usec_text_gives_a_positive_interval_or_none(text):
    os.environ["WATCHDOG_USEC"] = text
    try:
        interval = ServiceNotifier().watchdog_interval
    finally:
        del os.environ["WATCHDOG_USEC"]
    assert interval is None or interval > 0
