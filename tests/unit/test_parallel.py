"""ordered_map: parallel work, input order kept, errors from the input re-raised in place."""

import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rex.parallel import ordered_map


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(0, 0.005), max_size=30), st.integers(1, 4))
def test_order_is_the_input_order(delays, workers):
    def work(item):
        index, delay = item
        time.sleep(delay)
        return index

    assert list(ordered_map(work, enumerate(delays), workers)) == list(range(len(delays)))


def test_work_runs_concurrently():
    running, peak, lock = [0], [0], threading.Lock()

    def work(item):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1
        return item

    assert list(ordered_map(work, range(8), 4)) == list(range(8))
    assert peak[0] > 1


def test_an_input_error_arrives_after_the_earlier_results():
    def items():
        yield 1
        yield 2
        raise ValueError("malformed record")

    seen = []
    with pytest.raises(ValueError, match="malformed"):
        for value in ordered_map(lambda x: x * 10, items(), 2):
            seen.append(value)
    assert seen == [10, 20]


def test_prefetch_yields_idle_while_the_input_is_quiet_and_keeps_order():
    from rex.parallel import IDLE, prefetch

    gate = threading.Event()

    def items():
        yield 1
        gate.wait(5)
        yield 2
        raise ValueError("malformed record")

    seen = []
    with pytest.raises(ValueError, match="malformed"):
        for item in prefetch(items(), idle=0.01):
            if item is IDLE and 1 in seen:
                gate.set()          # the consumer got to work while the input was quiet
            seen.append(item)
    values = [x for x in seen if x is not IDLE]
    assert values == [1, 2] and IDLE in seen[seen.index(1):seen.index(2)]
