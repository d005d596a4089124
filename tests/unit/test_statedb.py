"""statedb.open_db: several runs creating the same state file at once all get it."""

import multiprocessing

from rex.statedb import open_db


def _open_and_write(directory, barrier, index, failures):
    try:
        barrier.wait()
        db = open_db(directory, "race.sqlite", "CREATE TABLE IF NOT EXISTS t (k INTEGER PRIMARY KEY)")
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO t VALUES (?)", (index,))
        db.execute("COMMIT")
        db.close()
    except Exception as exc:      # reported to the test, which names it
        failures.put(f"{type(exc).__name__}: {exc}")


def test_runs_racing_to_create_the_same_state_file_all_succeed(tmp_path):
    context = multiprocessing.get_context("fork")
    workers = 6
    for attempt in range(15):
        directory = tmp_path / str(attempt)
        directory.mkdir()
        barrier, failures = context.Barrier(workers), context.Queue()
        procs = [context.Process(target=_open_and_write, args=(str(directory), barrier, i, failures))
                 for i in range(workers)]
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.join(60)
        assert failures.empty(), failures.get()
        db = open_db(str(directory), "race.sqlite")
        assert db.execute("SELECT count(*) FROM t").fetchone()[0] == workers
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        db.close()
