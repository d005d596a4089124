"""rex.desktop.idle: waiting for the user to leave, on a clock the test owns."""

from hypothesis import given
from hypothesis import strategies as st

from rex.desktop.idle import soft_schedule, wait_until_idle


class Desk:
    """A fake clock and a user who touches the keyboard at the times in `inputs`
    (seconds from the start; idle since `idle_at_start` seconds before it)."""

    def __init__(self, inputs=(), idle_at_start=0.0):
        self.now = 0.0
        self.inputs = sorted(inputs)
        self.idle_at_start = idle_at_start
        self.sleeps, self.readings, self.notes = [], [], []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        assert seconds > 0
        self.sleeps.append(seconds)
        self.now += seconds

    def idle(self):
        last = max((t for t in self.inputs if t <= self.now), default=-self.idle_at_start)
        self.readings.append(self.now - last)
        return self.now - last

    def notify(self, title, message):
        self.notes.append((title, message))
        return True


minutes = st.floats(1, 3600)
inputs = st.lists(st.floats(0, 10_000), max_size=20)


@given(inputs, st.floats(0, 600), minutes, st.floats(0, 7200), st.floats(0.5, 60))
def test_wait_until_idle_never_waits_past_max_wait_and_says_whether_idle_was_reached(acts, before, minimum,
                                                                                     max_wait, poll):
    desk = Desk(acts, before)
    reached = wait_until_idle(minimum, max_wait, poll=poll, sleep=desk.sleep, clock=desk.clock, source=desk.idle)
    assert desk.now <= max_wait + 1e-6
    assert all(s <= poll for s in desk.sleeps)
    if reached:
        assert desk.readings[-1] >= minimum
    else:
        assert desk.now >= max_wait - 1e-6 and all(r < minimum for r in desk.readings)


@given(st.floats(0, 600), minutes, st.floats(0.5, 60))
def test_a_user_who_left_is_found_idle_once_minimum_has_passed(before, minimum, poll):
    desk = Desk([], before)
    wait = max(0.0, minimum - before)
    assert wait_until_idle(minimum, wait + poll, poll=poll, sleep=desk.sleep, clock=desk.clock, source=desk.idle)
    assert desk.now <= wait + 0.5 + 1e-6      # no more than half a second past the moment


def test_a_user_who_stays_active_is_given_up_on_at_max_wait():
    desk = Desk([i * 10.0 for i in range(1000)])
    assert not wait_until_idle(300, 1800, poll=15, sleep=desk.sleep, clock=desk.clock, source=desk.idle)
    assert desk.now == 1800


def test_no_idle_source_means_no_user_to_wait_for():
    desk = Desk()
    assert wait_until_idle(300, 1800, sleep=desk.sleep, clock=desk.clock, source=lambda: None)
    assert desk.sleeps == []


def _schedule(desk, on_timeout, countdown, notify=None):
    return soft_schedule(300, 1800, on_timeout, countdown, "Backing up 2 projects in 30 s",
                         notify=notify or desk.notify, sleep=desk.sleep, clock=desk.clock, source=desk.idle)


def test_on_timeout_skip_skips_the_run_without_a_word_to_the_user():
    desk = Desk([i * 10.0 for i in range(1000)])
    assert not _schedule(desk, "skip", 30)
    assert desk.notes == [] and desk.now == 1800


def test_on_timeout_export_goes_ahead_after_the_countdown():
    desk = Desk([i * 10.0 for i in range(1000)])
    assert _schedule(desk, "export", 30)
    assert desk.notes == [("Rex", "Backing up 2 projects in 30 s")]
    assert desk.now == 1830 and desk.sleeps[-1] == 30


def test_an_idle_user_is_warned_then_the_countdown_runs():
    desk = Desk([], idle_at_start=600)
    assert _schedule(desk, "skip", 30)
    assert desk.notes and desk.sleeps == [30]


def test_no_countdown_when_no_notification_could_be_shown_or_none_is_asked():
    desk = Desk([], idle_at_start=600)
    assert _schedule(desk, "export", 30, notify=lambda title, message: False)
    assert desk.sleeps == []
    assert _schedule(desk, "export", 0)
    assert desk.notes == [] and desk.sleeps == []
