"""Where a standby's primary is, from its primary_conninfo (standby/serve.py)."""

from hypothesis import given
from hypothesis import strategies as st

from rex.standby.clone import primary_conninfo
from rex.standby.serve import conninfo_address


def test_address_from_the_conninfo_pg_basebackup_or_rex_writes():
    assert conninfo_address("user=replicator passfile='/x y' host=10.0.0.1 port=5433 sslmode=prefer") \
        == ("10.0.0.1", "5433")
    assert conninfo_address("") == (None, None)
    assert conninfo_address("host=a,b port=1,2") == ("a", "1")


@given(host=st.text(st.characters(blacklist_categories=["Cs", "Cc"]), min_size=1).filter(lambda t: "," not in t),
       port=st.integers(1, 65535), passfile=st.text(st.characters(blacklist_categories=["Cs", "Cc"]), min_size=1))
def test_what_clone_writes_reads_back(host, port, passfile):
    assert conninfo_address(primary_conninfo(host, port, "u", passfile)) == (host, str(port))
