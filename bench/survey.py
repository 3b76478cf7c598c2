# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Benchmark: ``survey --domain`` against ``ldapsearch``; listener writes; the UDM hook's cost.

A throwaway slapd (the testbed: our schema and ACL, UCS's indexes) is bulk-loaded with
H host records (default 5,000: most static, some dynamic in a few ID classes, some stale,
some without a record) and U users (default 20,000; one holds 64055, one group too).

    ours:     libvirt-static-ids survey --domain --json   (the real CLI, a new process)
    baseline: ldapsearch for the same two searches, same entries and attributes:
              the host records and the objects holding the target numbers

Median of R rounds (default 11: a round takes a fraction of a second, and with fewer one
slow round moves the median), alternating which goes first. Two ratios, each on a line of
its own starting with its name:

    survey-in-process/python-ldap: R   what the UMC backend serves (the core's survey, built
                                       into its result) vs. python-ldap fetching the same
                                       entries and attributes (search_ext_s), same process
    survey-cli/ldapsearch: R           `survey --domain --json` end to end (a new process)
                                       vs. the two ldapsearch runs

with the load average, since other work on the machine shifts both, and the median CPU
seconds of each side (this process and its children), which a loaded machine stretches less.

Then: the listener module (through tests/stubs) handles 3N events for one already recorded
host (it only starts its unit), and the unit's work runs N times for it with the LDAP writes
it made counted (must be 0); and the UDM hook's cost per call, with the number of LDAP
reads it made for all calls (must be 1).

No assertions on time: these are figures to record, not a test.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STUBS = REPO / "tests" / "stubs"
CLASSES = ((109, 114), (110, 115), (111, 116), (112, 106))


def ours_command() -> list[str]:
    script = Path(sys.executable).parent / "libvirt-static-ids"
    return [str(script)] if script.exists() else [sys.executable, "-m", "libvirt_static_ids"]


def preload(testbed_cls: type, base: str, hosts: int, users: int) -> str:
    """LDIF of the host records and users (hashed passwords only where a bind is needed)."""
    from libvirt_static_ids_testbed.slapd import _ldif

    now = datetime.now(UTC)
    fresh = now.strftime("%Y%m%d%H%M%SZ")
    old = (now - timedelta(days=12)).strftime("%Y%m%d%H%M%SZ")
    parts = []
    for number in range(hosts):
        name = f"kvm{number:05d}"
        attrs: dict[str, list[str]] = {
            "objectClass": [
                "top",
                "person",
                "posixAccount",
                "shadowAccount",
                "libvirtStaticIdsHost",
            ],
            "cn": [name],
            "sn": [name],
            "uid": [f"{name}$"],
            "uidNumber": [str(100000 + number)],
            "gidNumber": ["5007"],
            "homeDirectory": ["/dev/null"],
        }
        kind = number % 20
        uid: int | None
        gid: int | None
        if kind < 13:
            uid = gid = 64055
            state = "static"
        elif kind < 19:
            uid, gid = CLASSES[number % len(CLASSES)]
            state = "dynamic"
        else:
            uid = gid = None
            state = None
        if state:
            attrs |= {
                "libvirtStaticIdsUid": [str(uid)],
                "libvirtStaticIdsGid": [str(gid)],
                "libvirtStaticIdsState": [state],
                "libvirtStaticIdsChecked": [old if number % 50 == 0 else fresh],
                "libvirtStaticIdsDetail": ['{"blockers":[]}'],
            }
        parts.append(_ldif(f"cn={name},cn=memberserver,cn=computers,{base}", attrs))
    for number in range(users):
        name = f"user{number:05d}"
        uid_number = 64055 if number == users // 2 else 10000 + number
        parts.append(
            _ldif(
                f"uid={name},cn=users,{base}",
                {
                    "objectClass": ["top", "inetOrgPerson", "posixAccount", "shadowAccount"],
                    "uid": [name],
                    "cn": [name],
                    "sn": [name],
                    "uidNumber": [str(uid_number)],
                    "gidNumber": ["5001"],
                    "homeDirectory": [f"/home/{name}"],
                },
            )
        )
    parts.append(
        _ldif(
            f"cn=legacy-kvm,cn=groups,{base}",
            {"objectClass": ["top", "posixGroup"], "cn": ["legacy-kvm"], "gidNumber": ["64055"]},
        )
    )
    return "".join(parts)


def timed(function: Callable[[], object]) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def _cpu() -> float:
    """CPU seconds of this process and its ended children (the CLI runs are children)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


CPU: dict[Callable[[], object], list[float]] = {}  # CPU seconds of each run, by function


def median_pair(rounds: int, ours: Callable[[], object], base: Callable[[], object]):
    """Median wall seconds of each; their CPU seconds are kept in CPU (a loaded machine
    stretches wall time, CPU time much less)."""
    ours_times: list[float] = []
    base_times: list[float] = []
    for number in range(rounds):
        order = [(ours, ours_times), (base, base_times)]
        for function, times in order if number % 2 == 0 else reversed(order):
            before = _cpu()
            times.append(timed(function))
            CPU.setdefault(function, []).append(_cpu() - before)
    return statistics.median(ours_times), statistics.median(base_times)


def cpu_median(function: Callable[[], object]) -> float:
    return statistics.median(CPU[function])


def bench_survey(bed, secret: str, rounds: int) -> None:
    import ldap
    import ldap.filter

    from libvirt_static_ids.directory import client as directory
    from libvirt_static_ids.directory import domain_survey as survey_module

    options = [
        "--ldap-uri",
        bed.uri,
        "--base",
        bed.base,
        "--binddn",
        bed.domain_admin.dn,
        "--bindpwdfile",
        secret,
    ]
    # Installed from the Debian package our modules are byte-compiled: let the first (untimed)
    # runs write the bytecode cache even where the environment says not to.
    unwanted = ("UNIVENTION_BASECONF", "PYTHONDONTWRITEBYTECODE")
    env = {k: v for k, v in os.environ.items() if k not in unwanted}
    host_filter = ldap.filter.filter_format(
        "(|(objectClass=%s)(univentionService=%s))", ["libvirtStaticIdsHost", directory.SERVICE]
    )
    holder_filter = "(|(uidNumber=64055)(gidNumber=64055))"
    ldapsearch = shutil.which("ldapsearch") or "/usr/bin/ldapsearch"
    bind = [ldapsearch, "-LLL", "-x", "-H", bed.uri, "-D", bed.domain_admin.dn, "-y", secret]
    searches = [
        [*bind, "-b", bed.base, host_filter, *directory.HOST_ATTRIBUTES],
        [*bind, "-b", bed.base, holder_filter, *directory.HOLDER_ATTRIBUTES],
    ]

    def ours_cli() -> None:
        subprocess.run(
            [*ours_command(), "survey", "--domain", *options, "--json"],
            check=True,
            stdout=subprocess.DEVNULL,
            env=env,
        )

    def baseline_cli() -> None:
        for argv in searches:
            subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=env)

    conn = bed.connect(bed.domain_admin.dn, bed.domain_admin.password)
    survey = survey_module.collect(conn, bed.base)
    summary = survey.as_dict()["summary"]
    print(
        f"  survey: {summary['hosts']:,} hosts, {summary['classes']} classes, "
        f"{summary['holders']} holders, {summary['stale']} stale, {summary['missing']} missing"
    )

    def ours_lib() -> None:
        survey_module.collect(conn, bed.base).as_dict()

    def baseline_lib() -> None:
        conn.search_ext_s(bed.base, ldap.SCOPE_SUBTREE, host_filter, directory.HOST_ATTRIBUTES)
        conn.search_ext_s(bed.base, ldap.SCOPE_SUBTREE, holder_filter, directory.HOLDER_ATTRIBUTES)

    def ours_human() -> None:
        subprocess.run(
            [*ours_command(), "survey", "--domain", *options],
            check=True,
            stdout=subprocess.DEVNULL,
            env=env,
        )

    def startup() -> None:
        subprocess.run(
            [*ours_command(), "--version"], check=True, stdout=subprocess.DEVNULL, env=env
        )

    def fetch_streamed() -> None:
        list(directory.stream(conn, bed.base, host_filter, directory.HOST_ATTRIBUTES))
        conn.search_ext_s(bed.base, ldap.SCOPE_SUBTREE, holder_filter, directory.HOLDER_ATTRIBUTES)

    ours_lib()
    baseline_lib()  # warm both (slapd's caches, our lru caches are per value, not per run)
    served, fetched = median_pair(rounds, ours_lib, baseline_lib)
    streamed, _ = median_pair(rounds, fetch_streamed, baseline_lib)
    floor = statistics.median(timed(startup) for _ in range(rounds))
    human, _ = median_pair(rounds, ours_human, baseline_cli)
    ours, base = median_pair(rounds, ours_cli, baseline_cli)
    print(
        f"  in one process: survey served {served:.3f} s, python-ldap fetching the same "
        f"{fetched:.3f} s (the same entries read as they arrive: {streamed:.3f} s); "
        f"CPU {cpu_median(ours_lib):.3f} s vs {cpu_median(baseline_lib):.3f} s"
    )
    print(
        f"  end to end: survey --domain --json {ours:.3f} s, human output {human:.3f} s, "
        f"2x ldapsearch {base:.3f} s; the command's start alone (--version) {floor:.3f} s; "
        f"CPU {cpu_median(ours_cli):.3f} s vs {cpu_median(baseline_cli):.3f} s"
    )
    print(f"  load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"survey-in-process/python-ldap: {served / fetched:.2f}")
    print(f"survey-cli/ldapsearch: {ours / base:.2f}")


def bench_listener(bed, workdir: str, runs: int) -> None:
    """The listener module and the unit it starts, for an unchanged host.

    The module only starts its transient unit (systemd-run, not running here: a recorder
    stands in), so its cost per event is the module's own; the unit's work (what
    ``record --pending`` runs) is timed in process, with the LDAP writes it made (must be 0).
    """
    import ldap

    from libvirt_static_ids.directory import agent
    from libvirt_static_ids.hostroot import HostRoot
    from libvirt_static_ids_testbed import add_simulated_host
    from libvirt_static_ids_testbed.simulated import SimulatedHost

    # Numbers nothing else on this machine runs processes as: the survey reads /proc.
    host = add_simulated_host(bed, "listener-host", workdir, SimulatedHost(uid=4109, gid=4114))
    os.environ["UNIVENTION_BASECONF"] = host.ucr_file  # the stubs' UCR is this host's
    ldap.set_option(ldap.OPT_X_TLS_CACERTFILE, bed.ca_file)
    sys.path.insert(0, str(STUBS))
    spec = importlib.util.spec_from_file_location(
        "libvirt-static-ids", REPO / "listener" / "libvirt-static-ids.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    handler_class = module.LibvirtStaticIds
    handler_class.config = handler_class._get_configuration("libvirt-static-ids")
    handler = handler_class.config.get_listener_module_instance()
    handler.root = host.root
    started: list[object] = []
    handler.start = started.append
    conn = bed.connect(host.dn, host.password)
    root = HostRoot(host.root)
    agent.handle_pending(conn, host.dn, root, bed.base)  # the first record: one write

    def csn() -> bytes:
        return bed.admin.search_s(host.dn, ldap.SCOPE_BASE, attrlist=["entryCSN"])[0][1][
            "entryCSN"
        ][0]

    before = csn()
    settings_entry = {"objectClass": [b"libvirtStaticIdsSettings"], "cn": [b"libvirt-static-ids"]}
    own = {**bed.admin.search_s(host.dn, ldap.SCOPE_BASE)[0][1]}
    asked = {**own, "libvirtStaticIdsRequest": [b"refresh"]}
    module_time = timed(
        lambda: [
            (
                handler.initialize(),
                handler.modify(host.dn, own, asked, None),
                handler.create(bed.settings_dn, settings_entry),
            )
            for _ in range(runs)
        ]
    )
    unit_time = timed(
        lambda: [agent.handle_pending(conn, host.dn, root, bed.base) for _ in range(runs)]
    )
    conn.unbind_s()
    writes = 0 if csn() == before else "some"
    print(
        f"  listener module: {3 * runs} events, {len(started)} units started, "
        f"{1e6 * module_time / (3 * runs):.1f} µs per event (systemd-run itself not included)"
    )
    print(
        f"  its unit (record --pending), unchanged host: {runs} runs, LDAP writes: {writes}, "
        f"{1000 * unit_time / runs:.1f} ms per run"
    )


def bench_hook(bed, calls: int) -> None:
    import univention.admin.hook
    import univention.admin.uldap
    import univention.uldap

    reads = 0

    class Counting(univention.uldap.access):
        def get(self, dn, attr=[], required=False):  # noqa: B006 - the original's signature
            nonlocal reads
            reads += 1
            return super().get(dn, attr, required)

    with tempfile.TemporaryDirectory() as directory:
        hooks_d = Path(directory, "univention", "admin", "hooks.d")
        hooks_d.mkdir(parents=True)
        # The file UDM gets: the adapter with the core's rule inside (udm-hooks/assemble.py).
        spec = importlib.util.spec_from_file_location("assemble", REPO / "udm-hooks/assemble.py")
        assert spec is not None and spec.loader is not None
        assemble = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(assemble)
        assemble.main(str(hooks_d / "libvirt_static_ids_reserve.py"))
        sys.path.insert(0, directory)
        univention.admin.hook.import_hook_files()
        sys.path.remove(directory)
    # import_hook_files keeps each hook file's simpleHook classes in the hook module.
    hook_class = vars(univention.admin.hook)["LibvirtStaticIdsReserve"]
    lo = univention.admin.uldap.access(
        lo=Counting(
            host="127.0.0.1",
            port=bed.port,
            base=bed.base,
            binddn=bed.domain_admin.dn,
            bindpw=bed.domain_admin.password,
            start_tls=0,
        )
    )

    class Obj:
        module = "users/user"

        def __init__(self, number: int) -> None:
            self.lo = lo
            self.info = {"uidNumber": str(number)}

    objects = [Obj(100000 + n) for n in range(calls)]
    hook = hook_class()
    hook.hook_ldap_pre_create(objects[0])  # the one read
    ml = [("uidNumber", [b"20001"]), ("uid", [b"x"])]
    elapsed = timed(
        lambda: [
            (hook.hook_ldap_pre_create(obj), hook.hook_ldap_addlist(obj, ml)) for obj in objects
        ]
    )
    print(
        f"  UDM hook: {2 * calls:,} calls, {1e6 * elapsed / (2 * calls):.2f} µs per call, "
        f"LDAP reads in total: {reads}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=5000)
    parser.add_argument("--users", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--listener-runs", type=int, default=20)
    parser.add_argument("--hook-calls", type=int, default=50000)
    args = parser.parse_args()
    os.environ.pop("UNIVENTION_BASECONF", None)

    from libvirt_static_ids_testbed import DEFAULT_BASE, Testbed

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-survey-") as workdir:
        bed = Testbed(preload_ldif=preload(Testbed, DEFAULT_BASE, args.hosts, args.users))
        with bed:
            print(
                f"slapd PID {bed.pid}: {args.hosts:,} host records and {args.users:,} users "
                f"loaded in {time.perf_counter() - started:.1f} s"
            )
            secret = os.path.join(workdir, "admin.secret")
            fd = os.open(secret, os.O_WRONLY | os.O_CREAT, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(bed.domain_admin.password)
            print(f"survey --domain vs ldapsearch (median of {args.rounds}):")
            bench_survey(bed, secret, args.rounds)
            print("listener:")
            bench_listener(bed, workdir, args.listener_runs)
            print("hook:")
            bench_hook(bed, args.hook_calls)
    return 0


if __name__ == "__main__":
    sys.exit(main())
