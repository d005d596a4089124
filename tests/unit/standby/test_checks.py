"""What replication needs and the fix for each problem (standby/checks.py)."""

from hypothesis import given
from hypothesis import strategies as st

from rex.standby.checks import Facts, hba_line, hba_rule_for, problems

ROLE, SLOT, ADDR = "replicator", "rex_standby", "192.168.1.20"
RULE = {"type": "host", "database": ["replication"], "user_name": [ROLE], "address": "192.168.1.0",
        "netmask": "255.255.255.0", "auth_method": "scram-sha-256", "error": None}


def ready(**changes):
    base = dict(version_num=150018, wal_level="replica", max_wal_senders=10, max_replication_slots=10,
                role_exists=True, role_replication=True, role_login=True, role_password=True, slot_exists=True,
                hba_rules=(RULE,))
    return Facts(**dict(base, **changes))


def test_a_ready_primary_has_no_problem():
    assert problems(ready(), ROLE, SLOT, ADDR) == []


def test_each_missing_setting_has_its_own_fix():
    found = {p.key: p for p in problems(ready(wal_level="minimal", max_wal_senders=0, max_replication_slots=0,
                                              role_exists=False, slot_exists=False, hba_rules=()), ROLE, SLOT, ADDR)}
    assert set(found) == {"wal_level", "max_wal_senders", "max_replication_slots", "role", "password", "pg_hba",
                          "slot"}
    assert found["wal_level"].needs == "restart" and "ALTER SYSTEM SET wal_level = 'replica'" in found["wal_level"].fix
    assert found["pg_hba"].sql == () and "host replication replicator 192.168.1.20/32" in found["pg_hba"].fix
    assert "reload" in found["pg_hba"].needs
    assert "immediately" not in found["slot"].fix and ", true)" in found["slot"].fix


def test_a_setting_already_in_the_files_only_needs_the_restart():
    found = problems(ready(wal_level="minimal", pending={"wal_level": "replica"}), ROLE, SLOT, ADDR)
    assert [(p.key, p.sql, p.fix) for p in found] == [("wal_level", (), "restart the server")]


def test_an_old_server_cannot_be_fixed_by_sql():
    found = problems(ready(version_num=90624), ROLE, SLOT, ADDR)
    assert found[0].key == "server_version" and found[0].sql == ()


@given(octet=st.integers(0, 255), other=st.integers(0, 255))
def test_hba_rule_holds_exactly_its_network(octet, other):
    assert hba_rule_for([RULE], ROLE, f"192.168.1.{octet}") == RULE
    assert (hba_rule_for([RULE], ROLE, f"192.168.{other}.{octet}") == RULE) == (other == 1)


def test_hba_ignores_lines_that_do_not_cover_replication():
    lines = [dict(RULE, database=["all"]), dict(RULE, user_name=["someone"]), dict(RULE, type="local"),
             dict(RULE, error="bad line")]
    assert hba_rule_for(lines, ROLE, ADDR) is None
    assert hba_rule_for([dict(RULE, user_name=["all"])], ROLE, ADDR) is not None


@given(address=st.ip_addresses())
def test_the_suggested_line_admits_the_address(address):
    _type, _db, _user, net, _auth = hba_line(ROLE, str(address)).split()
    addr, prefix = net.split("/")
    import ipaddress

    mask = str(ipaddress.ip_network(net).netmask)
    rule = dict(RULE, address=addr, netmask=mask)
    assert hba_rule_for([rule], ROLE, str(address)) == rule
