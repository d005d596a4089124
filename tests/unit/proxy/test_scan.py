"""rex.proxy.scan: proxy-scan's operands, and which timelines a scan reads."""

from hypothesis import given
from hypothesis import strategies as st

from rex.proxy.scan import choose_timelines, operand_paths
from rex.records import Record


def test_dash_reads_the_paths_of_records_there_in_operand_order():
    reads = []

    def read():
        reads.append(1)
        return iter([Record(path="/m/B.mov"), Record(path=""), Record(path="/m/C.mov")])

    assert list(operand_paths(["/m/A.mov", "-", "/m/D.mov"], read)) == ["/m/A.mov", "/m/B.mov", "/m/C.mov",
                                                                           "/m/D.mov"]
    assert reads == [1]
    assert list(operand_paths(["/m/A.mov"], read)) == ["/m/A.mov"] and reads == [1]   # stdin untouched


@given(st.lists(st.sampled_from(["Edit 1", "Edit 2", "Final", "current"]), max_size=5), st.data())
def test_choose_timelines(names, data):
    current = data.draw(st.one_of(st.none(), st.integers(0, len(names) - 1))) if names else None
    chosen, unmatched = choose_timelines(names, current, (), True)
    assert chosen == list(range(len(names))) and not unmatched
    chosen, _ = choose_timelines(names, current, (), False)
    assert chosen == ([] if current is None else [current])
    chosen, unmatched = choose_timelines(names, current, ("Edit*", "Edit 1"), False)
    assert len(chosen) == len(set(chosen))
    assert all(names[i].startswith("Edit") for i in chosen)
    assert ("Edit*" in unmatched) == (not any(n.startswith("Edit") for n in names))
