# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The optimal order for a small domain: fewest suspensions, then fewest migrations (A*).

The greedy planner is fast but can miss plans that shuffle VMs between static hosts, or
park them on a dynamic host converted later, to make room. On a small domain every order
can be searched: a state is what runs where (VMs of equal memory are interchangeable, so a
host holds a sorted tuple of memories) and which hosts are converted; a step moves one VM
(cost 1) or converts a host, suspending what still runs there (cost SUSPENSION each). An
empty host is converted at once (it costs nothing and only adds room for what follows).

The estimate of what is left never overstates it: every VM on a host still to convert costs
at least one move, a VM no migration can be proven for costs a suspension, and when the
other hosts cannot hold all running VMs while some host converts, something is suspended.
So the first goal reached is optimal. The search gives up (None) past ``budget`` states.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

# A suspension outweighs any number of migrations a small domain can need.
SUSPENSION = 10_000


@dataclass(frozen=True)
class Slot:
    """A host as the search sees it."""

    capacity: int  # free + running memory, less the reserve
    static: bool
    pinned: tuple[int, ...] = ()  # memories of VMs that cannot move (suspended at convert)


Move = tuple[int, int, int]  # (memory, from host, to host)
Convert = tuple[int]  # (host,)
Action = Move | Convert
State = tuple[int, tuple[tuple[int, ...], ...]]  # (converted bitmask, memories per host)


def _estimate(slots: Sequence[Slot], state: State, used: int, total: int) -> int:
    done, loads = state
    movable = pinned = 0
    forced = False
    for index, slot in enumerate(slots):
        if done >> index & 1:
            continue
        movable += len(loads[index])
        pinned += len(slot.pinned)
        if used > total - slot.capacity and (loads[index] or slot.pinned):
            forced = True
    return movable + (SUSPENSION - 1) * max(pinned, 1 if forced else 0)


def _settle(slots: Sequence[Slot], done: int, loads: tuple[tuple[int, ...], ...]) -> int:
    """Convert every empty host (free of cost)."""
    for index, slot in enumerate(slots):
        if not done >> index & 1 and not loads[index] and not slot.pinned:
            done |= 1 << index
    return done


def search(
    slots: Sequence[Slot], loads: Sequence[Sequence[int]], budget: int = 50_000
) -> tuple[int, list[Action]] | None:
    """(cost, actions) of an optimal plan, or None past ``budget`` states.

    ``loads``: memories of the movable running VMs per host. Actions: (memory, source,
    destination) moves and (host,) conversions, in order (empty hosts' conversions too).
    """
    start_loads = tuple(tuple(sorted(load)) for load in loads)
    initial = sum(1 << i for i, slot in enumerate(slots) if slot.static)
    pinned_mem = [sum(slot.pinned) for slot in slots]
    used = sum(map(sum, start_loads)) + sum(pinned_mem)
    total = sum(slot.capacity for slot in slots)
    goal = (1 << len(slots)) - 1
    start: State = (_settle(slots, initial, start_loads), start_loads)
    parents: dict[State, tuple[State | None, Action | None, int]] = {start: (None, None, 0)}
    tie = itertools.count()
    queue = [(_estimate(slots, start, used, total), next(tie), start)]
    closed: set[State] = set()
    while queue:
        _, _, state = heapq.heappop(queue)
        if state in closed:
            continue
        closed.add(state)
        if len(closed) > budget:
            return None
        done = state[0]
        cost = parents[state][2]
        if done == goal:
            return cost, _actions(parents, state, initial, slots)
        for action, step_cost, nxt in _successors(slots, state, pinned_mem):
            if nxt in closed:
                continue
            new_cost = cost + step_cost
            known = parents.get(nxt)
            if known is not None and known[2] <= new_cost:
                continue
            parents[nxt] = (state, action, new_cost)
            heapq.heappush(queue, (new_cost + _estimate(slots, nxt, used, total), next(tie), nxt))
    return None


def _successors(
    slots: Sequence[Slot], state: State, pinned_mem: Sequence[int]
) -> list[tuple[Action, int, State]]:
    done, loads = state
    free = [
        slot.capacity - sum(load) - pinned
        for slot, load, pinned in zip(slots, loads, pinned_mem, strict=True)
    ]
    found: list[tuple[Action, int, State]] = []
    for source, load in enumerate(loads):
        for memory in sorted(set(load)):
            rest = list(load)
            rest.remove(memory)
            for destination in range(len(slots)):
                if destination == source or free[destination] < memory:
                    continue
                changed = list(loads)
                changed[source] = tuple(rest)
                changed[destination] = tuple(sorted((*loads[destination], memory)))
                new_loads = tuple(changed)
                found.append(
                    (
                        (memory, source, destination),
                        1,
                        (_settle(slots, done, new_loads), new_loads),
                    )
                )
    for index, slot in enumerate(slots):
        if not done >> index & 1:
            suspended = len(loads[index]) + len(slot.pinned)
            found.append(((index,), SUSPENSION * suspended, (done | 1 << index, loads)))
    return found


def _actions(
    parents: dict[State, tuple[State | None, Action | None, int]],
    state: State,
    initial: int,
    slots: Sequence[Slot],
) -> list[Action]:
    """The path to ``state``, with the free conversions of emptied hosts made explicit."""
    path: list[tuple[State, Action]] = []
    node = state
    while True:
        parent, action, _ = parents[node]
        if parent is None or action is None:
            break
        path.append((node, action))
        node = parent
    path.reverse()
    actions: list[Action] = []
    done = initial
    for reached, action in [(node, None), *path]:
        if action is not None:
            actions.append(action)
        # Hosts converted on reaching this state without a convert action: emptied by it.
        actions += [
            (index,)
            for index in range(len(slots))
            if reached[0] >> index & 1 and not done >> index & 1 and (index,) != action
        ]
        done = reached[0]
    return actions
