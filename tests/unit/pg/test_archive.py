"""rex.pg.archive.parse_toc on real and carefully written `pg_restore --list` output."""

import os
import re
import shutil
import subprocess

import pytest

from rex.pg.archive import parse_toc, split_qualified

# pg_restore --list of a Resolve-shaped library, as PostgreSQL 15 writes it.
PG15_LIST = """\
;
; Archive created at 2026-03-07 09:05:02 UTC
;     dbname: Resolve Projects
;     TOC Entries: 32
;     Compression: -1
;     Dump Version: 1.14-0
;     Format: CUSTOM
;     Integer: 4 bytes
;     Offset: 8 bytes
;     Dumped from database version: 15.18 (Debian 15.18-0+deb12u1)
;     Dumped by pg_dump version: 15.18 (Debian 15.18-0+deb12u1)
;
;
; Selected TOC Entries:
;
215; 1259 16392 TABLE public SM_Project postgres
214; 1259 16385 TABLE public SM_ProjectFolder postgres
216; 1259 16404 TABLE public Sm2Timeline postgres
222; 1259 16460 SEQUENCE public Sm2Timeline_seq postgres
3391; 2613 16450 BLOB - 16450 postgres
3395; 2613 16451 BLOB - 16451 postgres
3384; 0 16392 TABLE DATA public SM_Project postgres
3383; 0 16385 TABLE DATA public SM_ProjectFolder postgres
3385; 0 16404 TABLE DATA public Sm2Timeline postgres
3396; 0 0 SEQUENCE SET public Sm2Timeline_seq postgres
3392; 0 0 BLOBS - BLOBS 
3225; 2606 16391 CONSTRAINT public SM_ProjectFolder SM_ProjectFolder_pkey postgres
3227; 2606 16398 CONSTRAINT public SM_Project SM_Project_pkey postgres
3238; 2606 16399 FK CONSTRAINT public SM_Project SM_Project_Folder_fkey postgres
3240; 1259 16470 INDEX public idx_project_name postgres
"""

# The same shapes where large objects are listed as LARGE OBJECT (as newer pg_restore does),
# plus entries whose first word is also a shorter description.
NEWER_LIST = """\
;
; Archive created at 2026-03-07 09:05:02 UTC
;     dbname: Commercials 2026
;     Dumped from database version: 17.2
;     Dumped by pg_dump version: 17.2
;
; Selected TOC Entries:
;
215; 1259 16392 TABLE public SM_Project postgres
216; 1259 16400 TABLE public Part_2026 postgres
3401; 0 0 TABLE ATTACH public Part_2026 postgres
222; 1259 16460 SEQUENCE public Sm2Timeline_seq postgres
3402; 0 0 SEQUENCE OWNED BY public Sm2Timeline_seq postgres
3345; 2613 16400 LARGE OBJECT - 16400 postgres
3346; 2613 16401 LARGE OBJECT - 16401 postgres
3347; 2613 16402 LARGE OBJECT - 16402 postgres
3384; 0 16392 TABLE DATA public SM_Project postgres
3385; 0 16400 TABLE DATA public Part_2026 postgres
3403; 0 0 DEFAULT ACL - DEFAULT PRIVILEGES FOR TABLES public postgres
"""


def test_pg15_sample_counts():
    toc = parse_toc(PG15_LIST)
    assert toc.tables == 3
    assert toc.count("TABLE DATA") == 3
    assert toc.large_objects == 2
    assert toc.count("BLOBS") == 1
    assert toc.count("SEQUENCE") == 1 and toc.count("SEQUENCE SET") == 1
    assert toc.count("CONSTRAINT") == 2 and toc.count("FK CONSTRAINT") == 1
    assert toc.count("INDEX") == 1
    assert len(toc.entries) == 15   # every non-comment line, nothing else


def test_entries_keep_the_rest_of_the_line():
    toc = parse_toc(PG15_LIST)
    assert ("TABLE", "public SM_Project postgres") in toc.entries
    assert ("TABLE DATA", "public SM_Project postgres") in toc.entries
    assert ("BLOB", "- 16450 postgres") in toc.entries


def test_newer_large_objects_and_multi_word_descriptions():
    toc = parse_toc(NEWER_LIST)
    assert toc.large_objects == 3
    assert toc.tables == 2                     # TABLE ATTACH is not one more table
    assert toc.count("TABLE ATTACH") == 1
    assert toc.count("SEQUENCE") == 1          # SEQUENCE OWNED BY is not one more sequence
    assert toc.count("DEFAULT ACL") == 1
    assert toc.count("TABLE DATA") == 2


@pytest.mark.parametrize("text", ["", ";\n; only comments\n;\n", "pg_restore: error: not an archive\n",
                                  "garbage; 1 2 TABLE x\n", "\n\n\n"])
def test_nothing_useful_means_empty(text):
    toc = parse_toc(text)
    assert toc.entries == [] and toc.tables == 0 and toc.large_objects == 0


def test_commented_out_entries_are_skipped():
    # `pg_restore -L` lists may comment entries out with a leading ';'.
    text = ";215; 1259 16392 TABLE public SM_Project postgres\n216; 1259 16404 TABLE public B postgres\n"
    assert parse_toc(text).tables == 1


def test_crlf_list():
    assert parse_toc(PG15_LIST.replace("\n", "\r\n")).tables == 3


def test_table_names_with_spaces():
    toc = parse_toc("215; 1259 16392 TABLE public My Table postgres\n")
    assert toc.entries == [("TABLE", "public My Table postgres")]


@pytest.mark.parametrize("name,expected", [
    ("public.plain", ("public", "plain")),
    ('public."SM_Project"', ("public", "SM_Project")),
    ('"my schema"."a.b"', ("my schema", "a.b")),
    ('public."say ""hi"""', ("public", 'say "hi"')),
])
def test_split_qualified(name, expected):
    assert split_qualified(name) == expected


# --- a real archive ----------------------------------------------------------------------------

def _have_postgres():
    try:
        from rex.pg.cluster import server_bindir

        server_bindir()
    except Exception:
        return False
    return shutil.which("pg_restore") is not None


@pytest.mark.slow
@pytest.mark.skipif(not _have_postgres(), reason="PostgreSQL server programs not installed")
def test_real_archive(tmp_path):
    from rex.pg.cluster import Cluster
    from sample_library import SCHEMA, create_library, sample_sql

    with Cluster() as cluster:
        create_library(cluster, "Resolve Projects", projects=2)
        dump = str(tmp_path / "library.backup")
        pg_dump = os.path.join(os.path.dirname(shutil.which("pg_restore")), "pg_dump")
        subprocess.run([pg_dump, "-Fc", "-b", "-f", dump, "-d", "Resolve Projects"],
                       env=dict(os.environ, **cluster.env()), check=True, timeout=120,
                       stdout=subprocess.DEVNULL)
    listing = subprocess.run(["pg_restore", "--list", dump], stdout=subprocess.PIPE, check=True,
                             timeout=60).stdout.decode()
    toc = parse_toc(listing)
    tables = re.findall(r'CREATE TABLE "([^"]+)"', SCHEMA)
    assert toc.tables == len(tables) == 8
    assert toc.count("TABLE DATA") == len(tables)
    assert toc.large_objects == sample_sql().count("lo_from_bytea") == 1
    listed = {rest.split()[1] for desc, rest in toc.entries if desc == "TABLE"}
    assert listed == set(tables)
