"""Benchmark clients for the official Python SDK (openai-codex 0.163.0), driven by bench-driver.

    clients.py <sync|async> <w1|w2|w3|w4|w5> [iters=N] [turns=N] [threads=N]

Does the same workloads as bench-ours / bench-raw through the SDK's public API (Codex /
AsyncCodex, thread_start, Thread.run, Thread.turn + TurnHandle.stream) and prints the same
one-line JSON report. The runtime binary comes from BENCH_CODEX_BIN (CodexConfig.codex_bin).
"""

import asyncio
import json
import os
import resource
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from openai_codex import AsyncCodex, Codex, CodexConfig

DELTA = "item/agentMessage/delta"

# The same log-linear buckets as codex_bench::Histogram (32 per power of two, clamped at 2^40).
SUB, SUB_BITS, CAP = 32, 5, (1 << 40) - 1


def _index(v):
    v = min(v, CAP)
    if v < SUB:
        return v
    e = v.bit_length() - 1
    return SUB + (e - SUB_BITS) * SUB + ((v >> (e - SUB_BITS)) - SUB)


def _value(i):
    if i < SUB:
        return i
    e = (i - SUB) // SUB + SUB_BITS
    sub = (i - SUB) % SUB
    width = 1 << (e - SUB_BITS)
    return ((SUB + sub) << (e - SUB_BITS)) + width // 2


class Histogram:
    def __init__(self):
        self.counts = [0] * (_index(CAP) + 1)
        self.total = 0
        self.max = 0

    def record(self, v):
        self.counts[_index(v)] += 1
        self.total += 1
        if v > self.max:
            self.max = v

    def merge(self, other):
        for i, c in enumerate(other.counts):
            self.counts[i] += c
        self.total += other.total
        self.max = max(self.max, other.max)

    def quantile(self, q):
        if self.total == 0:
            return 0
        rank = min(max(1, -(-int(q * self.total * 1_000_000) // 1_000_000)), self.total)
        seen = 0
        for i, c in enumerate(self.counts):
            seen += c
            if seen >= rank:
                return min(_value(i), self.max)
        return self.max

    def fill(self, report):
        report["lat_p50_ns"] = self.quantile(0.5)
        report["lat_p99_ns"] = self.quantile(0.99)
        report["lat_max_ns"] = self.max


def cpu_ns():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return int((r.ru_utime + r.ru_stime) * 1e9)


def vmhwm_kb():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def config():
    return CodexConfig(codex_bin=os.environ["BENCH_CODEX_BIN"])


def new_report():
    return {"samples_ns": [], "deltas": 0, "dropped": 0, "cpu_ns": 0}


def is_delta(event):
    return event.method == DELTA


def run_sync(workload, args):
    report = new_report()
    if workload == "w1":
        for _ in range(args.get("iters", 1)):
            start = time.perf_counter_ns()
            codex = Codex(config())
            report["samples_ns"].append(time.perf_counter_ns() - start)
            codex.close()
        return report
    with Codex(config()) as codex:
        if workload == "w2":
            start = time.perf_counter_ns()
            thread = codex.thread_start()
            result = thread.run("Say hi")
            report["samples_ns"].append(time.perf_counter_ns() - start)
            assert result.final_response, "the turn answered"
        elif workload == "w3":
            thread = codex.thread_start()
            start = time.perf_counter_ns()
            for i in range(args.get("turns", 50)):
                result = thread.run(f"Turn {i}: say hi")
                assert result.final_response, "the turn answered"
            report["samples_ns"].append(time.perf_counter_ns() - start)
        elif workload == "w4":
            thread = codex.thread_start()
            cpu, start = cpu_ns(), time.perf_counter_ns()
            size = 0
            for event in thread.turn("Stream").stream():
                if is_delta(event):
                    report["deltas"] += 1
                    size += len(event.payload.delta)
            report["samples_ns"].append(time.perf_counter_ns() - start)
            report["cpu_ns"] = cpu_ns() - cpu
            assert size > 0
        elif workload == "w5":
            threads = [codex.thread_start() for _ in range(args.get("threads", 64))]

            def one(thread):
                hist, deltas = Histogram(), 0
                for event in thread.turn("Stream").stream():
                    if is_delta(event):
                        deltas += 1
                        hist.record(time.time_ns() - int(event.payload.delta))
                return hist, deltas

            cpu, start = cpu_ns(), time.perf_counter_ns()
            hist = Histogram()
            with ThreadPoolExecutor(max_workers=len(threads)) as pool:
                for h, deltas in pool.map(one, threads):
                    hist.merge(h)
                    report["deltas"] += deltas
            report["samples_ns"].append(time.perf_counter_ns() - start)
            report["cpu_ns"] = cpu_ns() - cpu
            hist.fill(report)
        else:
            raise SystemExit(f"unknown workload {workload}")
    return report


async def run_async(workload, args):
    report = new_report()
    if workload == "w1":
        for _ in range(args.get("iters", 1)):
            start = time.perf_counter_ns()
            codex = AsyncCodex(config())
            await codex.__aenter__()
            report["samples_ns"].append(time.perf_counter_ns() - start)
            await codex.close()
        return report
    async with AsyncCodex(config()) as codex:
        if workload == "w2":
            start = time.perf_counter_ns()
            thread = await codex.thread_start()
            result = await thread.run("Say hi")
            report["samples_ns"].append(time.perf_counter_ns() - start)
            assert result.final_response, "the turn answered"
        elif workload == "w3":
            thread = await codex.thread_start()
            start = time.perf_counter_ns()
            for i in range(args.get("turns", 50)):
                result = await thread.run(f"Turn {i}: say hi")
                assert result.final_response, "the turn answered"
            report["samples_ns"].append(time.perf_counter_ns() - start)
        elif workload == "w4":
            thread = await codex.thread_start()
            cpu, start = cpu_ns(), time.perf_counter_ns()
            size = 0
            turn = await thread.turn("Stream")
            async for event in turn.stream():
                if is_delta(event):
                    report["deltas"] += 1
                    size += len(event.payload.delta)
            report["samples_ns"].append(time.perf_counter_ns() - start)
            report["cpu_ns"] = cpu_ns() - cpu
            assert size > 0
        elif workload == "w5":
            threads = [await codex.thread_start() for _ in range(args.get("threads", 64))]

            async def one(thread):
                hist, deltas = Histogram(), 0
                turn = await thread.turn("Stream")
                async for event in turn.stream():
                    if is_delta(event):
                        deltas += 1
                        hist.record(time.time_ns() - int(event.payload.delta))
                return hist, deltas

            cpu, start = cpu_ns(), time.perf_counter_ns()
            hist = Histogram()
            for h, deltas in await asyncio.gather(*(one(t) for t in threads)):
                hist.merge(h)
                report["deltas"] += deltas
            report["samples_ns"].append(time.perf_counter_ns() - start)
            report["cpu_ns"] = cpu_ns() - cpu
            hist.fill(report)
        else:
            raise SystemExit(f"unknown workload {workload}")
    return report


def main():
    api, workload = sys.argv[1], sys.argv[2]
    args = {k: int(v) for k, v in (a.split("=", 1) for a in sys.argv[3:])}
    if api == "sync":
        report = run_sync(workload, args)
    elif api == "async":
        report = asyncio.run(run_async(workload, args))
    else:
        raise SystemExit(f"unknown api {api}")
    report["vmhwm_kb"] = vmhwm_kb()
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
