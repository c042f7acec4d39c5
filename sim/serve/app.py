"""The what-if page as a small Starlette app: one static page with a vendored chart library
(uPlot, served from this package: no CDN, nothing from the internet), a JSON setup, a run
endpoint that streams each stage's answer as a line of JSON, and downloads.

Simulations run on one thread of their own, the compiled engine spreading each chunk over
every core from it (`sim.engine.engines.compiled.launcher`), so the server keeps answering
while a run is in flight. A browser session is a cookie; its newer request stops its older.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import secrets
import tempfile
import threading
import time
import zipfile
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import yaml
from starlette.applications import Starlette
from starlette.requests import Request as HttpRequest
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from sim.engine.engines.compiled import launcher
from sim.engine.run import Stopped
from sim.errors import InputError
from sim.outputs.run_folder import write_comparison
from sim.serve.answer import answer
from sim.serve.controls import CONTROLS, DEFAULT_FROM, current_values
from sim.serve.runs import (
    BASES,
    DEFAULT_REPS,
    MAX_REPS,
    MIN_REPS,
    BaseRuns,
    Latest,
    Request,
    Sessions,
    base_file,
    comparisons,
    load_base,
)
from sim.version import __version__

STATIC = Path(__file__).parent / "static"
COOKIE = "ccsim_session"
T = TypeVar("T")


class WhatIf:
    """The app's state: sessions, the base runs kept, and the one simulation thread."""

    def __init__(self) -> None:
        self.sessions = Sessions()
        self.base_runs = BaseRuns()
        self.simulator = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ccsim-simulate")
        self.downloads_lock = threading.Lock()

    async def simulate(self, work: Callable[[], T]) -> T:
        """Run `work` on the simulation thread, allowed to use every core."""
        def launched() -> T:
            with launcher():
                return work()
        return await asyncio.get_running_loop().run_in_executor(self.simulator, launched)


def create_app() -> Starlette:
    """The what-if app (`ccsim serve` runs it with uvicorn; tests drive it directly)."""
    state = WhatIf()

    async def index(request: HttpRequest) -> Response:
        response = FileResponse(STATIC / "index.html", media_type="text/html")
        _session(request, response)
        return response

    async def setup(request: HttpRequest) -> Response:
        try:
            base = load_base(request.query_params.get("base", "baseline"))
        except InputError as exc:
            return _refused(exc)
        values = current_values(base)
        return JSONResponse({
            "version": __version__,
            "bases": [{"name": name, "description": load_base(name).description}
                      for name in BASES],
            "base": base.name,
            "description": base.description,
            "start": base.start.isoformat(),
            "end": base.end.isoformat(),
            "controls": [{**c.describe(), "value": values[c.id]} for c in CONTROLS],
            "default_from": DEFAULT_FROM.strftime("%Y-%m"),
            "reps": {"default": DEFAULT_REPS, "min": MIN_REPS, "max": MAX_REPS},
            "seed": 1,
        })

    async def run(request: HttpRequest) -> Response:
        session = request.cookies.get(COOKIE) or ""
        if not session:
            return _refused(InputError("no browser session: open the page first",
                                       field="session"))
        try:
            raw = await _json(request)
        except InputError as exc:
            return _refused(exc)
        try:
            asked = Request.parse(raw)
        except InputError as exc:  # a value the model refuses: an answer, shown beside it
            return Response(json.dumps({"status": "refused", **_error(exc)}) + "\n",
                            media_type="application/x-ndjson")
        ticket = state.sessions.begin(session)
        return StreamingResponse(_stages(state, session, ticket, asked),
                                 media_type="application/x-ndjson",
                                 headers={"Cache-Control": "no-store"})

    async def download(request: HttpRequest) -> Response:
        latest = state.sessions.latest(request.cookies.get(COOKIE) or "")
        if latest is None:
            return JSONResponse({"error": {"problem": "nothing to download yet: wait for"
                                           " the first answer"}}, status_code=404)
        kind = request.path_params["kind"]
        if kind == "scenario.yaml":
            return Response(scenario_yaml(latest), media_type="application/yaml",
                            headers=_attachment(f"{latest.request.option.name}.yaml"))
        with state.downloads_lock:
            files = _written(latest)
        if kind == "workbook.xlsx":
            return Response(files["workbook.xlsx"], headers=_attachment("what-if.xlsx"),
                            media_type="application/vnd.openxmlformats-officedocument"
                            ".spreadsheetml.sheet")
        if kind == "charts.zip":
            return Response(files["charts.zip"], media_type="application/zip",
                            headers=_attachment("what-if-charts.zip"))
        return JSONResponse({"error": {"problem": f"no download called {kind}"}},
                            status_code=404)

    async def health(request: HttpRequest) -> Response:
        return JSONResponse({"ok": True, "version": __version__})

    async def icon(request: HttpRequest) -> Response:
        return FileResponse(STATIC / "icon.svg", media_type="image/svg+xml")

    return Starlette(routes=[
        Route("/", index),
        Route("/favicon.ico", icon),
        Route("/api/health", health),
        Route("/api/setup", setup),
        Route("/api/run", run, methods=["POST"]),
        Route("/api/download/{kind}", download),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ])


async def _stages(state: WhatIf, session: str, ticket: int,
                  asked: Request) -> AsyncIterator[str]:
    """Each stage's answer as a line of JSON (status partial, then done), until the last,
    or until the session asks again or the browser goes away (then the simulation stops at
    its next chunk, and the last line says status stopped). A refused request is one line,
    status refused, with the error."""
    gone = threading.Event()
    started = time.perf_counter()

    def stop() -> bool:
        return gone.is_set() or not state.sessions.current(session, ticket)

    stages = comparisons(asked, state.base_runs, stop)

    def next_stage() -> tuple[Latest, dict[str, Any]] | None:
        comparison = next(stages, None)
        if comparison is None:
            return None
        complete = comparison.base.reps == asked.reps
        return (Latest(asked, comparison, complete),
                answer(comparison, complete, time.perf_counter() - started))

    try:
        while True:
            try:
                stage = await state.simulate(next_stage)
            except Stopped:
                yield json.dumps({"status": "stopped"}) + "\n"
                return
            if stage is None:
                return
            latest, payload = stage
            state.sessions.answered(session, ticket, latest)
            yield json.dumps(payload) + "\n"
    finally:
        gone.set()


def scenario_yaml(latest: Latest) -> str:
    """The option as a scenario file that `ccsim run --fixed-parameters` reproduces exactly
    (same seed)."""
    option, base, reps, seed = (latest.request.option, latest.request.base,
                                latest.request.reps, latest.request.seed)
    head = (f"# Made by ccsim serve {__version__} on {dt.date.today():%d %B %Y}:"
            f" {option.description}\n"
            f"# The page's numbers for it: ccsim run {option.name}.yaml --reps {reps}"
            f" --seed {seed} --fixed-parameters\n"
            f"# Paired with its base, as the page shows: ccsim compare"
            f" {base_file(base.name).name} {option.name}.yaml --reps {reps} --seed {seed}"
            " --fixed-parameters\n"
            "# (the page holds the fitted parameters fixed, for speed; without"
            " --fixed-parameters ccsim draws them from the calibration posterior)\n"
            f"# (the base is the shipped scenarios/{base.name}.yaml)\n")
    return head + yaml.safe_dump(option.to_dict(), sort_keys=False)


def _written(latest: Latest) -> dict[str, bytes]:
    """The workbook and charts `ccsim compare` writes for the latest answer (made once)."""
    if latest.files is not None:
        return latest.files
    with tempfile.TemporaryDirectory(prefix="ccsim-serve-") as tmp:
        folder = write_comparison(latest.comparison, Path(tmp) / "compare")
        charts = io.BytesIO()
        with zipfile.ZipFile(charts, "w", zipfile.ZIP_DEFLATED) as z:
            for png in sorted((folder / "plots").glob("*.png")):
                z.write(png, png.name)
        files = {"workbook.xlsx": (folder / "workbook.xlsx").read_bytes(),
                 "charts.zip": charts.getvalue()}
    latest.files = files
    return files


async def _json(request: HttpRequest) -> Any:
    body = await request.body()
    if len(body) > 100_000:
        raise InputError("the request is too large", field="request",
                         allowed="at most 100,000 bytes")
    try:
        return json.loads(body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise InputError("the request is not JSON", field="request") from None


def _error(exc: InputError) -> dict[str, Any]:
    """A refusal as the page shows it beside its control: the field, problem, allowed."""
    return {"error": {"field": exc.field, "problem": exc.problem,
                      "value": None if exc.value is None else str(exc.value),
                      "allowed": exc.allowed, "message": exc.render()}}


def _refused(exc: InputError) -> Response:
    """A request the page would never send (not JSON, no session): 400."""
    return JSONResponse(_error(exc), status_code=400)


def _session(request: HttpRequest, response: Response) -> None:
    if not request.cookies.get(COOKIE):
        response.set_cookie(COOKIE, secrets.token_urlsafe(16), httponly=True,
                            samesite="strict")


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"'}


__all__ = ["create_app", "scenario_yaml"]
