"""The browser line's settings (SIP over WebSocket, TLS) and what they put into Kamailio's configuration: only
validated addresses and paths reach it, nothing else can be injected; with no WebSocket listener the
configuration has no trace of it (desk phones exactly as before); the self-signed pair is made once."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from siaga.api.telephony import ws_url
from siaga.domains.telephony import edge
from siaga.settings import Settings
from siaga.web.ui import edge_websockets, security_headers

MPATH = "/usr/lib/x86_64-linux-gnu/kamailio/modules"


def render(tmp_path: Path, **kw: object) -> str:
    return edge.render_config(Settings(**kw), edge.EdgePaths(tmp_path), mpath=MPATH)  # type: ignore[arg-type]


@pytest.mark.parametrize("field,value", [
    ("telephony_ws_listen", "127.0.0.1:8080\nloadmodule \"x.so\""),
    ("telephony_ws_listen", "127.0.0.1:8080,tcp:1.2.3.4:5"),
    ("telephony_ws_listen", "localhost:8080"),
    ("telephony_ws_listen", "999.1.1.1:8080"),
    ("telephony_ws_listen", "127.0.0.1:70000"),
    ("telephony_wss_listen", "127.0.0.1"),
    ("telephony_wss_listen", "[::1]:8443"),
    ("telephony_tls_cert", "relative/cert.pem"),
    ("telephony_tls_cert", "/etc/ssl/a cert.pem"),
    ("telephony_tls_cert", '/etc/ssl/cert.pem")\nloadmodule("x'),
    ("telephony_tls_key", "/etc/ssl/key.pem;rm"),
    ("telephony_wss_host", "edge.example/x"),
    ("telephony_wss_host", "edge example"),
])
def test_a_setting_that_could_carry_config_text_is_refused(field: str, value: str) -> None:
    other = {"telephony_tls_key": "/k.pem"} if field == "telephony_tls_cert" else \
        {"telephony_tls_cert": "/c.pem"} if field == "telephony_tls_key" else {}
    with pytest.raises(ValidationError):
        Settings(**{field: value, **other})  # type: ignore[arg-type]


def test_a_certificate_needs_its_key() -> None:
    with pytest.raises(ValidationError, match="go together"):
        Settings(telephony_tls_cert="/etc/siaga/edge.crt")
    s = Settings(telephony_tls_cert="/etc/siaga/edge.crt", telephony_tls_key="/etc/siaga/edge.key",
                 telephony_wss_listen="10.1.2.3:8443")
    assert edge.tls_pair(s, edge.EdgePaths(Path("/x"))) == (Path("/etc/siaga/edge.crt"), Path("/etc/siaga/edge.key"))


def test_without_a_websocket_listener_the_configuration_has_no_browser_line(tmp_path: Path) -> None:
    text = render(tmp_path)
    for absent in ("websocket.so", "nathelper.so", "xhttp", "tls.so", "enable_tls", "add_contact_alias",
                   "handle_ruri_alias", "fix_nated_register", "DTLS=passive"):
        assert absent not in text, absent


def test_ws_and_wss_listeners_render_websocket_tls_and_the_webrtc_media_flags(tmp_path: Path) -> None:
    text = render(tmp_path, telephony_ws_listen="127.0.0.1:8080", telephony_wss_listen="10.1.2.3:8443",
                  telephony_tls_cert="/etc/siaga/edge.crt", telephony_tls_key="/etc/siaga/edge.key")
    assert "listen=tcp:127.0.0.1:8080\n" in text and "listen=tls:10.1.2.3:8443\n" in text
    assert "enable_tls=yes" in text
    for module in ("tls", "xhttp", "websocket", "nathelper"):
        assert f'loadmodule "{module}.so"' in text
    assert 'modparam("tls", "certificate", "/etc/siaga/edge.crt")' in text
    assert 'modparam("tls", "private_key", "/etc/siaga/edge.key")' in text
    assert "ws_handle_handshake()" in text and "fix_nated_register()" in text
    offer = re.search(r'rtpengine_offer\("([^"]*)"\)', text[text.index("route[MEDIA_OFFER_BROWSER]"):])
    assert offer is not None
    assert set(offer.group(1).split()) >= {"ICE=force", "DTLS=passive", "UDP/TLS/RTP/SAVPF", "SDES-off",
                                           "rtcp-mux-offer"}
    # The answer back to the trunk stays plain RTP with no ICE, and the call is recorded from it.
    assert 'rtpengine_answer("replace-origin replace-session-connection ICE=remove record-call=on")' in text


def test_ws_only_has_no_tls(tmp_path: Path) -> None:
    text = render(tmp_path, telephony_ws_listen="127.0.0.1:8080")
    assert "listen=tcp:127.0.0.1:8080" in text and 'loadmodule "websocket.so"' in text
    assert "tls.so" not in text and "enable_tls" not in text


def test_the_configuration_passes_kamailios_own_check(tmp_path: Path) -> None:
    if not Path(MPATH, "websocket.so").exists():
        pytest.skip("kamailio-websocket-modules not installed (make test installs it)")
    s = Settings(telephony_ws_listen="127.0.0.1:18080", telephony_wss_listen="127.0.0.1:18443",
                 telephony_listen="udp:127.0.0.1:15060")
    paths = edge.EdgePaths(tmp_path)
    assert edge.write_config(s, paths).exists()
    cert, key = edge.tls_pair(s, paths)
    assert cert.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    assert key.stat().st_mode & 0o777 == 0o600
    before = cert.read_bytes()
    edge.write_config(s, paths)
    assert cert.read_bytes() == before  # made once, kept (a browser that trusts it keeps trusting it)


def test_the_console_is_told_where_to_connect_and_may_connect_there() -> None:
    both = Settings(telephony_ws_listen="127.0.0.1:8080", telephony_wss_listen="0.0.0.0:8443")
    assert ws_url(both, "siaga.example") == "wss://siaga.example:8443"  # wss first; any address: the page's host
    assert ws_url(Settings(telephony_ws_listen="127.0.0.1:8080"), "x") == "ws://127.0.0.1:8080"
    assert ws_url(Settings(), "x") == ""
    named = Settings(telephony_wss_listen="10.1.2.3:8443", telephony_wss_host="edge.siaga112.example")
    assert ws_url(named, "x") == "wss://edge.siaga112.example:8443"
    assert edge_websockets(named) == ["wss://edge.siaga112.example:8443"]
    assert edge_websockets(both) == ["wss://*:8443", "ws://127.0.0.1:8080"]
    csp = security_headers(both)["Content-Security-Policy"]
    assert "connect-src 'self' wss://*:8443 ws://127.0.0.1:8080;" in csp
    assert "connect-src 'self';" in security_headers(Settings())["Content-Security-Policy"]
