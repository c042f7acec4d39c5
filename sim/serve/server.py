"""`ccsim serve`: the what-if app under uvicorn, on this machine only unless told otherwise.

Starlette and uvicorn are the `serve` extra; without them the command says how to install
them (exit 2) instead of failing on an import.
"""

from __future__ import annotations

import importlib.util
import socket
import threading
import webbrowser
from collections.abc import Callable

from sim.errors import InputError

#: where the page listens unless told: this machine only
HOST, PORT = "127.0.0.1", 8765
#: the serve extra: optional, so the rest of ccsim works without it
EXTRA = ("starlette", "uvicorn")


def check_available() -> None:
    missing = [name for name in EXTRA if importlib.util.find_spec(name) is None]
    if missing:
        raise InputError(f"ccsim serve needs {missing[0]}, which is not installed",
                         field="serve", allowed="pip install 'ccsim[serve]'")


def check_port(port: int) -> int:
    if not 1 <= port <= 65535:
        raise InputError("not a port number", field="--port", value=port,
                         allowed="a whole number from 1 to 65535 (default 8765)")
    return port


def serve(host: str = HOST, port: int = PORT, open_browser: bool = False,
          say: Callable[[str], None] = print) -> None:
    """Serve the page until interrupted (Ctrl-C)."""
    check_available()
    # imported here: the app loads the engines and the writers, which only serving needs
    import uvicorn  # noqa: PLC0415

    from sim.serve.app import create_app  # noqa: PLC0415

    check_port(port)
    check_free(host, port)
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}/"
    say(f"ccsim what-if page: {url} (Ctrl-C to stop)")
    if host not in ("127.0.0.1", "localhost", "::1"):
        say(f"ccsim: listening on {host}: other machines on the network can reach the page")
    if open_browser:
        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    uvicorn.run(create_app(), host=host, port=port, log_level="warning")


def check_free(host: str, port: int) -> None:
    """Refuse a port that is taken (uvicorn would only log it and exit 1)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise InputError("not an address of this machine", field="--host", value=host,
                         allowed="127.0.0.1 (the default), or this machine's address") from None
    family, kind, _, _, address = infos[0]
    with socket.socket(family, kind) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise InputError(f"cannot listen there: {exc.strerror or exc}", field="--port",
                             value=port, allowed="a free port (--port 8766, say)") from None


__all__ = ["HOST", "PORT", "check_available", "check_free", "check_port", "serve"]
