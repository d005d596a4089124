"""daemon.jobs (rexd): every problem of every job, and of the list as a whole, at its
file:line:column, in one reading."""

import textwrap

from rex.config.loader import parse_file

BAD = """
daemon:
  jobs:
    - name: rex-pgdump
      when: daily at 25:00 in Europe/Paris
      run: rex-pgdump --all | rex-verify
    - name: rex-pgdump
      when: hourly at :05
      run: rex-prune
    - name: up
      after: rex-pgdum
      run: rex-upload
    - name: a
      after: b
      run: x
    - name: b
      after: a
      run: y
      delay: soon
    - name: c d
      when: weekly on fri at 10:00
    - name: both
      when: every 5 minutes
      after: a
      run: z
    - name: sec
      when: every 5 seconds
      run: z
  stop_timeout: 3x
"""


def problems(tmp_path, text):
    path = tmp_path / "rex.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    values, found = parse_file(str(path))
    return values, [str(p).split(":", 1)[1] for p in found]


def test_every_problem_of_every_job_at_its_place(tmp_path):
    _values, found = problems(tmp_path, BAD)
    assert sorted(found) == sorted([
        "4:13: daemon.jobs: job 1: when: 'daily at 25:00 in Europe/Paris': the hour must be 00 to 23",
        "6:13: daemon.jobs: job 2: the name 'rex-pgdump' is taken by job 1",
        "10:14: daemon.jobs: job 3: after: no job named 'rex-pgdum' (did you mean 'rex-pgdump'?)",
        "13:14: daemon.jobs: job 4: after: 'a' would follow itself",
        "16:14: daemon.jobs: job 5: after: 'b' would follow itself",
        "18:14: daemon.jobs: job 5: delay: not a duration: 'soon' (use e.g. 45s, 10m, 1h30m, 7d)",
        "19:13: daemon.jobs: job 6: name must be a job name (no spaces)",
        "19:7: daemon.jobs: job 6: no run (the command line to run)",
        "21:7: daemon.jobs: job 7: give either when (a schedule) or after (the job it follows), not both",
        "26:13: daemon.jobs: job 8: when: 'every 5 seconds': every N seconds is not a schedule; use every N minutes",
        "28:17: daemon.stop_timeout: not a duration: '3x' (use e.g. 45s, 10m, 1h30m, 7d)",
    ])


def test_a_good_list_gives_schedules_and_durations(tmp_path):
    values, found = problems(tmp_path, """
        daemon:
          jobs:
            - name: rex-pgdump
              when: Daily at 2:30 in europe/paris
              run: rex-pgdump --all | rex-verify
              delay: 5m
            - {name: up, after: rex-pgdump, run: rex-upload}
    """)
    assert found == []
    first, second = values["daemon.jobs"][0]
    assert first["when"].zone == "Europe/Paris" and first["delay"] == 300 and first["after"] is None
    assert second == {"name": "up", "when": None, "after": "rex-pgdump", "run": "rex-upload", "delay": 0.0}


def test_seconds_are_a_test_hook_only(tmp_path, monkeypatch):
    monkeypatch.setenv("REX_DAEMON_TEST_SECONDS", "1")
    values, found = problems(tmp_path, "daemon:\n  jobs:\n    - {name: t, when: every 2 seconds, run: 'true'}\n")
    assert found == [] and values["daemon.jobs"][0][0]["when"].period == 2
