"""proxy-worker's pure decisions: the STATUS= line, and the lease that makes a lost
worker's job run again within about a minute (RQ's defaults: ~11 minutes)."""

from types import SimpleNamespace

from hypothesis import given
from hypothesis import strategies as st

from rex.proxy import worker


def busy(source, frame, frames, state="busy"):
    return {"job": "rex-proxy-1", "state": state,
            "progress": {"source": source, "frame": frame, "frames": frames}}


def test_status_line_names_each_encode_and_its_percentage():
    assert worker.status_line([]) == "idle"
    assert worker.status_line([{"job": None, "state": "idle", "progress": {}}]) == "idle"
    assert worker.status_line([busy("/Volumes/Media/Day1/A001.mov", 420, 1000)]) == "encoding A001.mov 42%"
    assert worker.status_line([busy("/m/A001.mov", 0, 1000), {"job": None, "state": "idle"},
                               busy("/m/B 002.mxf", 1000, 1000)]) == "encoding A001.mov 0%, B 002.mxf 100%"


def test_status_line_before_progress_and_with_a_refusing_worker():
    assert worker.status_line([{"job": "rex-proxy-9", "state": "busy", "progress": {}}]) == "encoding rex-proxy-9"
    assert worker.status_line([busy("/m/A.mov", 5, None)]) == "encoding A.mov"
    assert worker.status_line([{"job": None, "state": "mismatched"}]) == "idle (1 refused jobs of another version)"


@given(st.integers(0, 10 ** 6), st.integers(0, 10 ** 6))
def test_status_percentage_stays_within_0_and_100(frame, frames):
    text = worker.status_line([busy("/m/A.mov", frame, frames or None)])
    if frames:
        percent = int(text.rsplit(" ", 1)[1].rstrip("%"))
        assert 0 <= percent <= 100
    else:
        assert text == "encoding A.mov"


@given(st.one_of(st.none(), st.just(-1), st.integers(1, 10 ** 6)), st.floats(0, 10 ** 6))
def test_a_lease_outlives_its_renewal_and_expires_within_half_a_minute(timeout, working_time):
    """A busy worker renews its job's lease every MONITOR_INTERVAL; the lease lasts at most
    MONITOR_INTERVAL + LEASE_GRACE, so a dead worker's job is found within that plus one
    maintenance pass, and never while its worker still renews it (the grace covers a late renewal)."""
    job = SimpleNamespace(timeout=timeout)
    me = SimpleNamespace(job_monitoring_interval=worker.MONITOR_INTERVAL)
    ttl = worker.ServiceWorker.get_heartbeat_ttl(me, job, working_time)
    assert worker.LEASE_GRACE <= ttl <= worker.MONITOR_INTERVAL + worker.LEASE_GRACE <= 30
    remaining = timeout - working_time if timeout and timeout > 0 else float("inf")
    if remaining >= worker.MONITOR_INTERVAL:
        assert ttl >= worker.MONITOR_INTERVAL + worker.LEASE_GRACE
    assert worker.MONITOR_INTERVAL + worker.LEASE_GRACE + worker.MAINTENANCE_INTERVAL <= 45
    # An idle worker blocks on the queue no longer than a maintenance interval.
    assert worker.WORKER_TTL - 15 <= worker.MAINTENANCE_INTERVAL
