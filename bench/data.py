"""Bench data: a Resolve-shaped library of a given size on disk, and random files.

The sample in tools/sample_library.py repeats one md5 per payload, which pglz and pg_dump's
zlib squeeze to almost nothing; a real library holds blobs Resolve has already
compressed. Here each timeline item carries a payload that is mostly incompressible
(md5 digests of many seeds, concatenated) followed by a compressible tail (XML-like
text), so the dump size and the dump's CPU cost look like a real library's. Random
bytes come first so that pglz gives up early and stores the value as it is.
"""

import hashlib
import os

# Per batch: timelines x items_per_batch rows of payload_bytes each.
PAYLOAD_BYTES = 16 * 1024
RANDOM_SHARE = 0.75
CLIP = '<Clip Name="A001_C002_0101XY" Start="86400" Duration="240" Track="V1" Speed="100"/>'


def _item_sql(items, payload_bytes, batch):
    digests = max(1, int(payload_bytes * RANDOM_SHARE) // 16)   # 16 random bytes per md5
    repeats = max(1, int(payload_bytes * (1 - RANDOM_SHARE)) // len(CLIP))
    return f'''
INSERT INTO "Sm2TiItem"
  SELECT gen_random_uuid(), t."Sm2Timeline_id", (1000000 * {batch} + i) * 24,
         (SELECT decode(string_agg(md5(t."Sm2Timeline_id"::text || '/{batch}/' || i || '/' || j), ''
                                   ORDER BY j), 'hex')
           FROM generate_series(1, {digests}) AS j)
         || convert_to(repeat('{CLIP}', {repeats}), 'UTF8')
  FROM "Sm2Timeline" t, generate_series(1, {items}) AS i;
'''


def database_size(cluster, name):
    out = cluster.psql(f"SELECT pg_database_size('{name}');")
    return int(out.strip())


def create_bench_library(cluster, name, target_bytes, projects=20, items_per_batch=50,
                         payload_bytes=PAYLOAD_BYTES, progress=None):
    """A sample library grown in batches until pg_database_size reaches `target_bytes`."""
    from sample_library import create_library

    create_library(cluster, name, projects=projects, items_per_timeline=20, payload_bytes=64)
    batch = 0
    size = database_size(cluster, name)
    while size < target_bytes:
        batch += 1
        cluster.psql(_item_sql(items_per_batch, payload_bytes, batch), database=name)
        size = database_size(cluster, name)
        if progress:
            progress(f"  library {name!r}: {size / 1e6:.0f} MB of {target_bytes / 1e6:.0f} MB")
    cluster.psql('VACUUM ANALYZE; CHECKPOINT;', database=name)
    return database_size(cluster, name)


def random_file(path, size, chunk=1 << 22):
    """Write `size` random bytes to `path` and its md5sum-style sidecar; returns the hex digest."""
    h = hashlib.md5()
    with open(path, "wb") as f:
        left = size
        while left > 0:
            block = os.urandom(min(chunk, left))
            f.write(block)
            h.update(block)
            left -= len(block)
    digest = h.hexdigest()
    with open(path + ".md5", "w") as f:
        f.write(f"{digest}  {os.path.basename(path)}\n")
    return digest


def ensure_random_file(path, size):
    """Reuse a file of the right size whose sidecar exists (a kept earlier run), else write it."""
    if os.path.exists(path + ".md5") and os.path.isfile(path) and os.path.getsize(path) == size:
        return
    random_file(path, size)


def warm(paths, chunk=1 << 20):
    """Read every file once so the timed runs read from the page cache."""
    for path in paths:
        with open(path, "rb", buffering=0) as f:
            while f.read(chunk):
                pass
