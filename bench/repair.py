# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Benchmark: ``libvirt-static-ids repair`` against GNU ``chown -R --from`` (``make bench``).

A local tree of N entries (default 100,000; 1% owned by the old numbers 109:114, the rest by
other owners) is built once. Then, for R rounds (default 7), alternating which goes first,
both tools run on the same tree, each run followed by an exact reset (untimed):

    ours:     libvirt-static-ids --root TMP repair --from-uid 109 --from-gid 114
                  --to-uid 64055 --to-gid 64055 COPY     (the real CLI, journal under TMP)
    baseline: GNU chown -R --from=109:114 64055:64055 COPY

That is done for four cases, each against chown in the same case: the walk listing xattrs
with listxattrat (Linux 6.13+) and with the fallback of older kernels such as UCS 5.2's 6.1
(``LIBVIRT_STATIC_IDS_WALK=fallback``), each on a quiet machine and with a competing busy
process (a busy loop pinned to one CPU, ended by its PID). Each case prints one line
``ratio CASE: R`` (ours/chown, medians), with the median wall times, entries per second,
peak RSS and the median CPU times (user+system: on a machine others load, wall times say
more about the others than about us; CPU time much less). Peak RSS comes from GNU time's
``%M`` (the ru_maxrss of exactly the measured process, which time forks from its own small
image); without GNU time, from wait4(2), which is an upper bound (Linux carries the forking
benchmark's RSS into the child's maximum). Memory must not grow with the tree: the same
repair then runs on a tree four times as large and both peaks are printed.

No assertions on time: these are figures to record, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

OLD_UID, OLD_GID = 109, 114
NEW_UID, NEW_GID = 64055, 64055
OTHER_OWNERS = ((0, 0), (1000, 1000), (0, 106), (1001, 100))
PER_DIRECTORY = 100
BASELINE = "GNU chown -R --from"


def ours_command() -> list[str]:
    script = Path(sys.executable).parent / "libvirt-static-ids"
    return [str(script)] if script.exists() else [sys.executable, "-m", "libvirt_static_ids"]


def build_tree(top: str, entries: int) -> int:
    """About ``entries`` entries (directories of 100 under grouping directories), every 100th
    owned by 109:114, the rest by other owners; returns how many carry the old numbers."""
    os.mkdir(top)
    old = 0
    directories = max(1, entries // PER_DIRECTORY)
    fan = max(1, int(directories**0.5))
    current = top
    for index in range(entries):
        if index % PER_DIRECTORY == 0:
            group = os.path.join(top, f"g{(index // PER_DIRECTORY) // fan}")
            if not os.path.isdir(group):
                os.mkdir(group)
            current = os.path.join(group, f"d{index // PER_DIRECTORY}")
            path = current
            os.mkdir(path)
        else:
            path = os.path.join(current, f"f{index}.img")
            os.mknod(path, 0o640 | 0o100000)
        if index % 100 == 7:
            os.chown(path, OLD_UID, OLD_GID)
            old += 1
        else:
            os.chown(path, *OTHER_OWNERS[index % len(OTHER_OWNERS)])
    return old


def count_entries(top: str) -> int:
    total = 1
    for _, directories, files in os.walk(top):
        total += len(directories) + len(files)
    return total


@dataclass
class Sample:
    seconds: float
    max_rss_kib: int
    cpu_seconds: float  # user + system, of the process and what it waited for


def gnu_time() -> str | None:
    """/usr/bin/time if it is GNU time (``-f %M`` prints the child's peak RSS in KiB)."""
    path = shutil.which("time", path="/usr/bin:/bin")
    if path is None:
        return None
    probe = subprocess.run([path, "-f", "%M", "true"], capture_output=True, text=True, check=False)
    return path if probe.returncode == 0 and probe.stderr.strip().isdigit() else None


GNU_TIME = gnu_time()
RSS_METHOD = (
    "GNU time -f %M: ru_maxrss of the measured process itself, forked from the small time"
    if GNU_TIME
    else "wait4 ru_maxrss; an upper bound: the kernel counts the forking benchmark's own RSS"
)


# As installed from the Debian package, our modules are byte-compiled: let the warm-up run
# write the bytecode cache even where the environment says not to.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def timed(argv: list[str], work: str, env: dict[str, str] = ENV) -> tuple[Sample, bytes]:
    """Run argv: wall time and the peak RSS of that process (KiB)."""
    report = os.path.join(work, "rss")
    if GNU_TIME:
        argv = [GNU_TIME, "-f", "%M", "-o", report, *argv]
    started = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    # communicate() reaps with waitpid and loses the rusage: read the pipes, then wait4.
    out = process.stdout.read() if process.stdout else b""
    err = process.stderr.read() if process.stderr else b""
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    cpu = usage.ru_utime + usage.ru_stime  # Linux: the child's and its reaped children's
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{argv} failed ({process.returncode}): {err.decode(errors='replace')}")
    if GNU_TIME:
        with open(report, encoding="ascii") as handle:
            return Sample(seconds, int(handle.read().split()[-1]), cpu), out
    return Sample(seconds, usage.ru_maxrss, cpu), out


def make_system_root(work: str) -> None:
    """``work`` as the host root (PATHs must lie inside it): the account files a root has."""
    os.makedirs(os.path.join(work, "etc"))
    for name, line in (("passwd", "root:x:0:0:root:/root:/bin/sh\n"), ("group", "root:x:0:\n")):
        with open(os.path.join(work, "etc", name), "w", encoding="ascii") as handle:
            handle.write(line)


def run_ours(tree: str, work: str, expected_changes: int, env: dict[str, str] = ENV) -> Sample:
    argv = [*ours_command(), "--root", work, "--json", "repair"]
    argv += ["--from-uid", str(OLD_UID), "--from-gid", str(OLD_GID)]
    argv += ["--to-uid", str(NEW_UID), "--to-gid", str(NEW_GID), tree]
    try:
        sample, out = timed(argv, work, env)
    finally:  # each run starts without a journal, as the first repair on a host does
        shutil.rmtree(os.path.join(work, "var"))
    changed = json.loads(out)["repair"]["changed"]
    if changed != expected_changes:
        raise SystemExit(f"ours changed {changed} entries, expected {expected_changes}")
    return sample


def run_chown(tree: str, work: str) -> Sample:
    argv = ["chown", "-R", f"--from={OLD_UID}:{OLD_GID}", f"{NEW_UID}:{NEW_GID}", tree]
    return timed(argv, work)[0]


def reset(tree: str, old: int) -> None:
    """Undo a run exactly, untimed: the tree's only entries owned by 64055:64055 are the ones
    a run changed (no other owner is 64055, no entry has setuid bits, capabilities or ACLs,
    so chown restores all of them), and ownership is per inode, so the tree itself is reused."""
    argv = ["chown", "-R", f"--from={NEW_UID}:{NEW_GID}", f"{OLD_UID}:{OLD_GID}", tree]
    subprocess.run(argv, check=True)


def median(samples: list[Sample]) -> float:
    return statistics.median(sample.seconds for sample in samples)


def median_cpu(samples: list[Sample]) -> float:
    return statistics.median(sample.cpu_seconds for sample in samples)


def peak_mib(samples: list[Sample]) -> float:
    return max(sample.max_rss_kib for sample in samples) / 1024


@dataclass(frozen=True)
class Case:
    name: str
    fallback: bool  # LIBVIRT_STATIC_IDS_WALK=fallback
    busy: bool  # a busy loop pinned to one CPU competes

    @property
    def env(self) -> dict[str, str]:
        return {**ENV, "LIBVIRT_STATIC_IDS_WALK": "fallback"} if self.fallback else ENV


CASES = (
    Case("listxattrat-quiet", fallback=False, busy=False),
    Case("listxattrat-busy", fallback=False, busy=True),
    Case("fallback-quiet", fallback=True, busy=False),
    Case("fallback-busy", fallback=True, busy=True),
)


def start_busy_loop() -> subprocess.Popen[bytes]:
    """A process spinning on the last usable CPU until it is ended by its PID."""
    cpu = max(os.sched_getaffinity(0))
    code = f"import os\nos.sched_setaffinity(0, {{{cpu}}})\nwhile True: pass\n"
    return subprocess.Popen([sys.executable, "-c", code])


def stop(process: subprocess.Popen[bytes]) -> None:
    os.kill(process.pid, 9)
    process.wait()


def compare(
    tree: str, work: str, entries: int, old: int, *, rounds: int, case: Case
) -> list[Sample]:
    """Alternating rounds on the one tree for one case; print it; return our samples.

    After every run (ours or chown) the tree is reset to the old numbers, so each run finds
    exactly the same work; ours checks that it changed exactly the old entries each time.
    """
    ours: list[Sample] = []
    chown: list[Sample] = []
    busy = start_busy_loop() if case.busy else None
    try:
        for number in range(1, rounds + 1):
            order = ["ours", "chown"] if number % 2 else ["chown", "ours"]
            for which in order:
                if which == "ours":
                    ours.append(run_ours(tree, work, old, case.env))
                else:
                    chown.append(run_chown(tree, work))
                reset(tree, old)
            print(
                f"  {case.name} round {number}/{rounds} ({' first, then '.join(order)}): "
                f"ours {ours[-1].seconds:.3f} s, chown {chown[-1].seconds:.3f} s",
                flush=True,
            )
    finally:
        if busy is not None:
            stop(busy)
    ours_median, chown_median = median(ours), median(chown)
    print(
        f"  {case.name}: ours {ours_median:.3f} s ({entries / ours_median:,.0f} entries/s), "
        f"chown {chown_median:.3f} s ({entries / chown_median:,.0f} entries/s), "
        f"peak RSS ours {peak_mib(ours):.1f} MiB, chown {peak_mib(chown):.1f} MiB"
    )
    print(
        f"  {case.name}: CPU time (user+system, what a loaded machine does not distort much) "
        f"ours {median_cpu(ours):.3f} s, chown {median_cpu(chown):.3f} s, "
        f"ratio {median_cpu(ours) / median_cpu(chown):.2f}; load average now "
        f"{os.getloadavg()[0]:.2f}"
    )
    print(f"ratio {case.name}: {ours_median / chown_median:.2f}", flush=True)
    return ours


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--big-entries", type=int, default=400_000, help="0 skips the check")
    parser.add_argument("--dir", default=None, help="work directory (default: a temp dir)")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("bench/repair.py needs root (chown to other owners)", file=sys.stderr)
        return 2
    work = tempfile.mkdtemp(prefix="lsi-bench-", dir=args.dir)
    try:
        make_system_root(work)
        started = time.perf_counter()
        master = os.path.join(work, "master")
        old = build_tree(master, args.entries)
        entries = count_entries(master)
        big = os.path.join(work, "big")
        big_old = build_tree(big, args.big_entries) if args.big_entries else 0
        big_entries = count_entries(big) if args.big_entries else 0
        print(
            f"built {entries:,} + {big_entries:,} entries once in "
            f"{time.perf_counter() - started:.1f} s under {work}"
        )
        print(f"ours: {' '.join(ours_command())} --root TMP repair ...")
        print(f"peak RSS method: {RSS_METHOD}", flush=True)
        warm_up = os.path.join(work, "warm-up")
        os.mkdir(warm_up)
        run_ours(warm_up, work, 0)  # untimed: loads and byte-compiles our modules once
        print(f"baseline: {BASELINE}={OLD_UID}:{OLD_GID} {NEW_UID}:{NEW_GID}")
        print(
            f"tree: {entries:,} entries, {old:,} ({old / entries:.1%}) owned by {OLD_UID}:{OLD_GID}"
        )
        print(f"median of {args.rounds} rounds per case (alternating order, tree reset after each)")
        print(
            f"load average before: {os.getloadavg()[0]:.2f}, "
            f"usable CPUs: {len(os.sched_getaffinity(0))}"
        )
        samples = {
            case.name: compare(master, work, entries, old, rounds=args.rounds, case=case)
            for case in CASES
        }
        ours = samples[CASES[0].name]
        print(f"load average after: {os.getloadavg()[0]:.2f}")
        if args.big_entries:
            sample = run_ours(big, work, big_old)
            print("memory (stream, do not hold the tree): peak RSS of ours by tree size")
            print(f"  {entries:>9,} entries: {peak_mib(ours):6.1f} MiB")
            print(
                f"  {big_entries:>9,} entries: {sample.max_rss_kib / 1024:6.1f} MiB "
                f"(1 round: {sample.seconds:.2f} s, {big_entries / sample.seconds:,.0f} entries/s)"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
