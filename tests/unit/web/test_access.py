"""Who may ask rex-web (web/access.py): listen addresses, loopback, the token."""

import base64
import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rex.web.access import (ListenError, host_tokens, is_loopback, parse_listen, poster, presented_token, read_token,
                            token_matches)

ports = st.integers(0, 65535)
tokens = st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=80)


@given(address=st.ip_addresses(), port=ports)
def test_an_address_and_its_port_come_back(address, port):
    text = f"[{address}]:{port}" if address.version == 6 else f"{address}:{port}"
    assert parse_listen(text) == (str(address), port)


@given(address=st.ip_addresses())
def test_loopback_is_the_address_s_own_property(address):
    assert is_loopback(str(address), resolve=lambda host: pytest.fail("no DNS for a literal")) \
        == address.is_loopback


def test_defaults_and_names():
    assert parse_listen("127.0.0.1:8470") == ("127.0.0.1", 8470)
    assert parse_listen(":8470") == ("127.0.0.1", 8470)
    assert parse_listen("localhost:80") == ("localhost", 80)
    assert is_loopback("localhost")
    assert is_loopback("db1", resolve=lambda h: ["127.0.1.1"])
    # a name that also reaches the network, or resolves to nothing, is beyond loopback
    assert not is_loopback("db1", resolve=lambda h: ["127.0.0.1", "10.0.0.5"])
    assert not is_loopback("nowhere", resolve=lambda h: [])


@pytest.mark.parametrize("text", ["", "8470", "127.0.0.1", "::1:8470", "[::1]8470", "[nothost]:1",
                                  "host:port", "host:65536", "host:-1", "a b:80", "host:٣"])
def test_malformed_listen_values_are_refused(text):
    with pytest.raises(ListenError):
        parse_listen(text)


@given(token=tokens)
def test_the_token_is_accepted_as_bearer_or_as_basic_password(token):
    assert token_matches(f"Bearer {token}", token)
    basic = base64.b64encode(f"admin:{token}".encode()).decode()
    assert token_matches(f"Basic {basic}", token)


@given(token=tokens, other=tokens)
def test_any_other_token_is_refused(token, other):
    if other != token:
        assert not token_matches(f"Bearer {other}", token)
    assert not token_matches(None, token)
    assert not token_matches("", token)
    assert not token_matches(token, token)          # no scheme
    assert not token_matches(f"Bearer {token}", None)


@given(header=st.text(max_size=100))
def test_any_header_is_read_without_an_exception(header):
    presented_token(header)


def test_token_from_file_first_then_environment(tmp_path):
    secret = tmp_path / "token"
    secret.write_text("s3cret-from-file\n")
    env = {"REX_WEB_TOKEN": "from-env"}
    assert read_token(str(secret), env) == "s3cret-from-file"
    assert read_token(None, env) == "from-env"
    assert read_token(None, {}) is None
    with pytest.raises(OSError):
        read_token(str(tmp_path / "missing"), env)
    secret.write_text("\n")
    with pytest.raises(ValueError):
        read_token(str(secret), env)
    with pytest.raises(ValueError):
        read_token(None, {"REX_WEB_TOKEN": "two words"})


def test_ipv6_loopback_is_loopback():
    assert ipaddress.ip_address("::1").is_loopback and is_loopback("::1")


@given(hosts=st.dictionaries(st.sampled_from(["bay1", "bay2", "render3", "db1"]), tokens, max_size=4),
       shared=st.none() | tokens, given_=st.none() | tokens, scheme=st.sampled_from(["Bearer", "Basic"]))
def test_a_post_speaks_for_the_host_whose_token_it_carries_else_shared_else_nobody(hosts, shared, given_, scheme):
    if len(set(hosts.values())) < len(hosts) or shared in hosts.values():
        return                                  # host_tokens refuses such a configuration
    header = None
    if given_ is not None:
        header = f"Bearer {given_}" if scheme == "Bearer" else "Basic " + base64.b64encode(
            f"me:{given_}".encode()).decode()
    owners = [h for h, t in hosts.items() if t == given_]
    expected = owners[0] if owners else ("" if given_ is not None and given_ == shared else None)
    assert poster(header, shared, hosts) == expected


def test_host_tokens_are_each_host_s_own(tmp_path):
    files = {}
    for host, token in (("bay1", "t-1"), ("bay2", "t-2"), ("bay3", "t-1"), ("bay4", "shared")):
        files[host] = tmp_path / host
        files[host].write_text(token + "\n")
    assert host_tokens({h: files[h] for h in ("bay1", "bay2")}, "shared") == {"bay1": "t-1", "bay2": "t-2"}
    with pytest.raises(ValueError, match="^bay1 and bay3 have the same token") as caught:
        host_tokens({h: files[h] for h in ("bay1", "bay3")}, None)
    assert "t-1" not in str(caught.value)
    with pytest.raises(ValueError, match="^bay4: .* holds the shared token"):
        host_tokens({"bay4": files["bay4"]}, "shared")
    with pytest.raises(OSError) as caught:
        host_tokens({"bay5": tmp_path / "missing"}, None)
    assert caught.value.filename == f"bay5: {tmp_path / 'missing'}"
    assert host_tokens({}, "shared") == host_tokens(None, None) == {}
