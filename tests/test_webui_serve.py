"""``hcc-prognosis serve``: arguments, the waitress server and its error exits."""

from __future__ import annotations

import argparse
import json
import socket
import threading
import urllib.error
import urllib.request

import pytest
from waitress.server import BaseWSGIServer

from calculator.cli.main import commands
from webui import serve_command
from webui.serve_command import add_arguments, make_server, run, server_url, stop_server


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(list(argv))


def test_defaults_match_the_interface() -> None:
    assert commands()["serve"].value == serve_command.__name__
    args = parse()
    assert (args.host, args.port) == ("127.0.0.1", 8000)
    assert parse("--host", "0.0.0.0", "--port", "9000").port == 9000


def test_server_is_waitress_and_serves_the_app() -> None:
    server = make_server("127.0.0.1", 0, threads=1)
    assert isinstance(server, BaseWSGIServer)
    url = server_url(server)
    assert url.startswith("http://127.0.0.1:") and url.endswith("/")
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        with urllib.request.urlopen(url + "healthz", timeout=10) as response:
            assert response.status == 200
            assert response.headers["Server"] == "hcc-prognosis"
        oversized = urllib.request.Request(url + "api/v1/score", data=b"1" * 20_000,
                                           headers={"Content-Type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(oversized, timeout=10)
        assert refused.value.code == 413
        assert json.load(refused.value)["errors"][0]["field"] == "request"
        refused.value.close()
    finally:
        stop_server(server)
        thread.join(timeout=10)
        server.task_dispatcher.shutdown()
    assert not thread.is_alive()


@pytest.mark.parametrize("argv,message", [(("--port", "70000"), "between 0 and 65535"),
                                          (("--threads", "0"), "at least 1")])
def test_bad_arguments_exit_2(capsys: pytest.CaptureFixture[str], argv: tuple[str, ...],
                              message: str) -> None:
    assert run(parse(*argv)) == 2
    err = capsys.readouterr().err
    assert err.startswith("hcc-prognosis serve: error: ") and message in err


def test_busy_port_exits_2_with_a_message(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert run(parse("--port", str(port))) == 2
    assert capsys.readouterr().err.startswith(
        f"hcc-prognosis serve: error: cannot listen on 127.0.0.1:{port}")
