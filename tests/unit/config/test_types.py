"""rex.config.types and the Records of config.schema: nested values (rules, policies,
monitors) are validated, sampled and documented from one declaration."""

import json
import os
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rex.config import parse_file, sample as config_sample, schema

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
RECORD_KEYS = [key for key in schema.KEYS if key.record is not None]


def _records(record):
    """Each Record of a key (the monitors' dict holds one per kind)."""
    return list(record.values()) if isinstance(record, dict) else [record]


def _field_names(record):
    names = []
    for rec in _records(record):
        for field in rec.fields:
            names.append(field.name)
            if isinstance(field.type, schema.Record):
                names += _field_names(field.type)
    return names


def test_every_field_of_every_record_is_in_rex5_and_in_the_sample():
    assert {k.name for k in RECORD_KEYS} >= {"proxy.rules", "prune.policies", "upload.policies", "report.monitors"}
    with open(os.path.join(ROOT, "man", "rex.5"), encoding="utf-8") as f:
        page = f.read()
    sample = config_sample.sample()
    for key in RECORD_KEYS:
        # rex.5: the fields are tagged inside the key's own item, before the next key.
        block = page.split(f".It Cm {key.name} Pq {key.type}\n", 1)[1]
        block = re.split(r"^\.It Cm \S+\.\S+ Pq |^\.Ss ", block, maxsplit=1, flags=re.M)[0]
        # the sample: explained (## lines) just before the key's commented setting.
        before = sample.split(f"\n# {'  ' if key.section else ''}{key.leaf}: ")
        section = sample.index(f"\n# {key.section}:\n") if key.section else 0
        explained = [line for line in sample[section:].split(f"#   {key.leaf}: ", 1)[0].splitlines()
                     if line.lstrip().startswith("##")]
        assert len(before) > 1, key.name
        for name in _field_names(key.record):
            assert f".It Cm {name} Pq " in block, (key.name, name)
            assert any(re.match(rf"\s*##\s+{re.escape(name)} \(", line) for line in explained), (key.name, name)


# --- one entry built from the declaration ------------------------------------------------------

def _good(field):
    kind = field.type
    if isinstance(kind, schema.Record):
        return st.fixed_dictionaries({}, optional={f.name: _good(f) for f in kind.fields})
    return {
        "strings": st.sampled_from(["mxf", "*.MOV"]) | st.lists(st.sampled_from(["mxf", "braw", "a b"]), max_size=3),
        "patterns": st.sampled_from(["*.backup", "projects/*"]) | st.lists(st.just("*.drp"), min_size=1, max_size=2),
        "pixels": st.integers(0, 8640) | st.integers(0, 8640).map(str),
        "count": st.integers(0, 400),
        "duration": st.sampled_from(["2d", "1h30m", "45s", 90, "0"]),
        "choice": st.sampled_from(field.choices or ("x",)),
        "events": st.lists(st.sampled_from(schema.REPORT_EVENTS), unique=True),
        "url": st.sampled_from(["https://hc.example/ping/1", "http://10.0.0.1:8080/x", "$HC_URL", "${NTFY}"]),
        "switch": st.booleans(),
        "string": st.sampled_from(["tk_123", "a token"]),
        "env-name": st.sampled_from(["TOKEN", "_NTFY_TOKEN2"]),
        "job-name": st.sampled_from(["rex-pgdump", "rex-pgdump@studio-b"]),
        "pipeline": st.sampled_from(["rex-pgdump --all | rex-verify", "rex-prune"]),
        "when": st.sampled_from(["hourly at :05", "daily at 02:30 in Europe/Paris", "every 15 minutes"]),
        "path": st.sampled_from(["/etc/rex/web.token", "~/.config/rex/token"]),
    }[kind]


def _bad(field):
    """A value of the wrong type for the field (its own problem, nothing else)."""
    if isinstance(field.type, schema.Record):
        return st.sampled_from([[1], "everything"])
    return st.sampled_from({
        "strings": [{"a": 1}, [None], [[1]]],
        "patterns": [[], {"a": 1}, [None]],
        "pixels": ["tall", -1, True, 1.5],
        "count": ["many", -1, True, 2.5],
        "duration": ["soon", "-3d", True],
        "choice": ["nope", 7],
        "events": [["failed"], {"a": 1}, "start, failure"],
        "url": ["hc.example/x", "$1X", "ftp://h/x", True],
        "switch": ["maybe", 1, "https://x"],
        "string": [[1], {"a": 1}, None, True],
        "env-name": ["1X", "A-B", 5],
        "job-name": ["a job", "", 5],
        "pipeline": ["", [1], None],
        "when": ["monthly", "daily at 25:00", 7],
        "path": ["", [1], 5, True],
    }[field.type])


@st.composite
def _entries(draw):
    """(key, [(name, value, field)]) of one valid entry of a record key, in file order."""
    key = draw(st.sampled_from(RECORD_KEYS))
    record = draw(st.sampled_from(_records(key.record)))
    fields = [f for f in record.fields if f.required or draw(st.booleans())]
    if record is schema.DAEMON_JOB:   # its check: a schedule (after needs a second job)
        fields = [f for f in fields if f.name not in ("when", "after")] + [record.fields[1]]
    fields = draw(st.permutations(fields))
    entry = [(f.name, draw(_good(f)), f) for f in fields]
    if record is schema.POLICY:       # its check: a policy keeps something
        keep_last = next(f for f in record.fields if f.name == "keep_last")
        entry = [e for e in entry if e[0] != "keep_last"] + [("keep_last", draw(st.integers(1, 50)), keep_last)]
    return key, entry


def _yaml(key, entry):
    """The entry as one list item, a field per line (a nested mapping's fields indented below it)."""
    lines = [f"{key.section}:", f"  {key.leaf}:"]
    for n, (name, value, field) in enumerate(entry):
        lead = "    - " if n == 0 else "      "
        if isinstance(field.type, schema.Record) and isinstance(value, dict) and value:
            lines.append(f"{lead}{name}:")
            lines += [f"        {k}: {json.dumps(v)}" for k, v in value.items()]
        else:
            lines.append(f"{lead}{name}: {json.dumps(value)}")
    return "\n".join(lines) + "\n"


def _lines(entry):
    """The line of each field (and nested field) of an entry written by _yaml."""
    at, line = {}, 3
    for name, value, field in entry:
        at[name] = line
        line += 1
        if isinstance(field.type, schema.Record) and isinstance(value, dict):
            for sub in value:
                at[(name, sub)] = line
                line += 1
    return at


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_entries(), st.data())
def test_an_entry_built_from_its_record_validates_and_one_bad_field_is_cited_at_its_line(tmp_path, made, data):
    key, entry = made
    path = tmp_path / "rex.yaml"
    path.write_text(_yaml(key, entry), encoding="utf-8")
    values, problems = parse_file(str(path))
    assert [str(p) for p in problems] == []
    assert len(values[key.name][0]) == 1

    # One field (or one field of a nested mapping) gets a value of the wrong type.
    spots = [(n, None) for n in range(len(entry))]
    spots += [(n, sub) for n, (_name, value, field) in enumerate(entry)
              if isinstance(field.type, schema.Record) and isinstance(value, dict) for sub in value]
    n, sub = data.draw(st.sampled_from(spots))
    name, value, field = entry[n]
    if sub is None:
        wrong, cited = data.draw(_bad(field)), name
        spot = name
    else:
        inner = next(f for f in field.type.fields if f.name == sub)
        wrong, cited = dict(value, **{sub: data.draw(_bad(inner))}), sub
        spot = (name, sub)
    bad = entry[:n] + [(name, wrong, field)] + entry[n + 1:]
    path.write_text(_yaml(key, bad), encoding="utf-8")
    _values, problems = parse_file(str(path))
    assert [p.line for p in problems] == [_lines(bad)[spot]], [str(p) for p in problems]
    message = problems[0].message
    assert re.match(rf"{re.escape(key.name)}: (rule|policy|monitor|job) 1: ", message), message
    assert cited in message or "unknown event" in message or "environment variable name" in message, message
