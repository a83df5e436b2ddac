"""An OpenAI-compatible chat server answering from a sim policy, for `memp perf pipeline --server`.

Runs in its own process (`python -m pipeline.perf.chat_server`) so its CPU is counted apart from
memp's; it prints its port on the first stdout line. Its answers are the offline sim model's, a
stand-in for an LLM; the latency is lognormal like the sim provider's.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anyio
from aiohttp import web

from pipeline.config import LatencyConfig, SimConfig
from pipeline.sim import pricing, size_caches
from pipeline.sim.latency import sample_latency
from pipeline.sim.policies import get_policy
from pipeline.sim.seeding import call_rng


def _body(model: str, reply: str | dict[str, Any], messages: list[dict[str, Any]]) -> dict:
    message: dict[str, Any] = {"role": "assistant", "content": None}
    if isinstance(reply, dict):
        arguments = json.dumps(reply.get("arguments", {}))
        function = {"name": str(reply["name"]), "arguments": arguments}
        message["tool_calls"] = [
            {"id": f"call_{len(messages)}", "type": "function", "function": function}
        ]
        text, finish = f"{reply['name']}{arguments}", "tool_calls"
    else:
        message["content"], text, finish = reply, reply, "stop"
    prompt, completion = pricing.prompt_tokens(messages), pricing.completion_tokens(text)
    return {
        "id": f"chatcmpl-{len(messages)}",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        },
    }


def make_app(sim: SimConfig, seed: int) -> web.Application:
    """POST /v1/chat/completions: the policy named by `model` answers after a sampled latency."""

    async def chat(request: web.Request) -> web.Response:
        try:
            payload = await request.json()
            messages = list(payload["messages"])
            model = str(payload.get("model", "household"))
            policy = get_policy(model.rsplit("/", 1)[-1])
        except Exception as err:  # a bad request is the client's error, never a crash here
            return web.json_response({"error": {"message": str(err)[:200]}}, status=400)
        delay = sample_latency(sim.latency, call_rng(seed, messages, b"latency"))
        reply = policy(sim, seed, messages, payload.get("tools"))
        await anyio.sleep(delay)
        return web.json_response(_body(model, reply, messages))

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_post("/chat/completions", chat)
    return app


async def _serve(sim: SimConfig, seed: int) -> None:
    runner = web.AppRunner(make_app(sim, seed), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=4096)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    print(port, flush=True)
    await anyio.sleep_forever()


@contextmanager
def server_process(
    latency_s: float, sigma: float, seed: int = 0, episodes: int = 1024
) -> Iterator[tuple[str, int]]:
    """Start the server in a child process; yields (base URL, pid) and stops it on exit.
    `episodes`: the most episodes in flight it will serve (its sim caches are sized for them)."""
    cmd = [sys.executable, "-m", "pipeline.perf.chat_server", f"--latency={latency_s}",
           f"--sigma={sigma}", f"--seed={seed}", f"--episodes={episodes}"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        if not line.strip().isdigit():
            raise RuntimeError(f"perf chat server did not start (exit {proc.poll()})")
        yield f"http://127.0.0.1:{int(line)}/v1", proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=1.0, help="lognormal mean, s")
    parser.add_argument("--sigma", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--episodes", type=int, default=1024, help="most episodes in flight")
    args = parser.parse_args(argv)
    size_caches(args.episodes)
    latency = LatencyConfig(kind="lognormal", mean_s=args.latency, sigma=args.sigma)
    sim = SimConfig(latency=latency)
    try:
        anyio.run(_serve, sim, args.seed)  # aiohttp needs the asyncio backend (the default)
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
