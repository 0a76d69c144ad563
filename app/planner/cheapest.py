"""The cheapest path to a group's next level: the smallest-cost set of changes whose
projection reaches it (and the one after). Pure: no Flask, no database.

The search is exact over a small candidate set. Candidates come from the rules of the
group's sub-items: for each, the smallest step that raises it to each higher band (so
its multiples up to the top band), read from the framework's bands. Changes that touch
the same facts form a *cluster* (rooms and devices: classrooms, repairs, lab computers,
the studio, computer-based testing, which needs a lab computer; the LMS and its
functions; each other capability, skill, the materials, a document); every combination
inside a cluster is projected and scored by the engine. Clusters touch disjoint
sub-items, so their points add up, and a multiple-choice knapsack over the group's points
(dynamic programming, at most the group's maximum in states) picks the cheapest
combination reaching the level. The missing mandatory documents of the group are always
part of a path (a level is recognised only with them).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import partial

from app.framework.engine import Facts, Scorecard, score
from app.framework.loader import (
    CapabilityRule,
    CountBandsRule,
    EvidencePresentRule,
    Framework,
    Group,
    LevelFromRatioRule,
    PercentageBandsRule,
    RoomPresentRule,
    exact,
)
from app.planner.changes import (
    COMPUTER_KINDS,
    DISPLAY_KINDS,
    SKILL_FACTS,
    AddEvidence,
    AddLabComputers,
    AdoptSoftware,
    ApproveMaterials,
    BuildStudio,
    Change,
    ChangeError,
    EquipClassrooms,
    RepairEquipment,
    SchoolState,
    TrainTeachers,
    price,
    project,
)

MAX_EXTRA_CLASSROOMS = 200  # new rooms equip_classrooms may add while looking for a band
MAX_REPAIR_OPTIONS = 8  # repair counts tried (those that change the group's points)
ROOM_FACTS = frozenset({"classrooms", "equipped_classrooms", "lab_working_computers", "studio_rooms"})


class AtTopLevel(ValueError):
    """The group is at its highest level: there is no next one."""


@dataclass(frozen=True)
class Path:
    """The cheapest changes taking ``group`` from ``from_level`` to ``to_level``: the
    ``actions`` that make them real (each with its ``cost_vnd``), the total, the
    projected scorecard and facts."""

    group: str
    from_level: int
    to_level: int
    changes: tuple[Change, ...]
    actions: list[dict]
    cost_vnd: int
    projected: Scorecard
    facts: Facts


@dataclass(frozen=True)
class Option:
    """One way to act on a cluster: its changes, what they cost, the points they add."""

    changes: tuple[Change, ...]
    cost_vnd: int
    gain: int


def next_levels(framework: Framework, facts: Facts, state: SchoolState, group_code: str,
                levels_ahead: int = 2) -> list[Path]:
    """The cheapest path to each of the next ``levels_ahead`` levels of group
    ``group_code`` that some candidate set reaches (a level out of reach, e.g. with no
    teachers to train, ends the list). Raises AtTopLevel at the top level, KeyError for
    an unknown group."""
    group = next((group for group in framework.groups if group.code == group_code), None)
    if group is None:
        raise KeyError(group_code)
    today = score(framework, facts).group(group_code)
    top = len(group.levels)
    if today.level >= top:
        raise AtTopLevel(group_code)
    forced = missing_documents(framework, group, facts)
    base_facts = project(facts, state, forced)[0] if forced else facts
    base_points = score(framework, base_facts).group(group_code).points
    clusters = [cluster for cluster in _clusters(framework, group, facts, state, forced, base_points) if cluster]
    paths = []
    for target in range(today.level + 1, min(top, today.level + levels_ahead) + 1):
        needed = _points_to(group, target) - base_points
        chosen = _cheapest(clusters, max(needed, 0))
        if chosen is None:
            break
        changes = (*forced, *(change for option in chosen for change in option.changes))
        projected_facts, actions = project(facts, state, changes)
        actions, cost = price(actions, framework.unit_prices)
        paths.append(Path(group_code, today.level, target, changes, actions, cost,
                          score(framework, projected_facts), projected_facts))
    return paths


def candidates(framework: Framework, facts: Facts, state: SchoolState, group_code: str) -> list[Option]:
    """Every option of every cluster the search weighs for the group (after the missing
    mandatory documents), each on its own."""
    group = next(group for group in framework.groups if group.code == group_code)
    forced = missing_documents(framework, group, facts)
    base_facts = project(facts, state, forced)[0] if forced else facts
    base_points = score(framework, base_facts).group(group_code).points
    return [option for cluster in _clusters(framework, group, facts, state, forced, base_points) for option in cluster]


# --- the search -----------------------------------------------------------------------

def _cheapest(clusters: Sequence[Sequence[Option]], needed: int) -> list[Option] | None:
    """The options (at most one per cluster) adding at least ``needed`` points at the least
    cost (then with the fewest changes), or None when no combination does."""
    best: dict[int, tuple[int, int, tuple[Option, ...]]] = {0: (0, 0, ())}  # points → (cost, changes, options)
    for cluster in clusters:
        reached = dict(best)
        for points, (cost, count, chosen) in best.items():
            for option in cluster:
                key = min(needed, points + option.gain)
                candidate = (cost + option.cost_vnd, count + len(option.changes), (*chosen, option))
                if key not in reached or candidate[:2] < reached[key][:2]:
                    reached[key] = candidate
        best = reached
    return list(best[needed][2]) if needed in best else None


def _points_to(group: Group, level: int) -> int:
    """The fewest whole points reaching ``level`` of ``group``."""
    band = group.levels[level - 1]
    if band.threshold is None:
        return 0
    limit = exact(band.threshold)
    return math.ceil(limit) if band.inclusive else math.floor(limit) + 1


def missing_documents(framework: Framework, group: Group | str, facts: Facts) -> tuple[Change, ...]:
    """add_evidence for each mandatory criterion of ``group`` (or its code) without
    evidence, unless the framework ignores them."""
    if isinstance(group, str):
        group = next(entry for entry in framework.groups if entry.code == group)
    if framework.settings.mandatory_policy == "ignore":
        return ()
    return tuple(AddEvidence(criterion.code) for criterion in group.criteria
                 if criterion.mandatory and criterion.code not in facts.evidence)


# --- the candidates -------------------------------------------------------------------

class _Weigher:
    """Projects and scores option sets on top of the forced changes."""

    def __init__(self, framework: Framework, group: Group, facts: Facts, state: SchoolState,
                 forced: tuple[Change, ...], base_points: int):
        self.framework, self.group, self.facts, self.state = framework, group, facts, state
        self.forced, self.base_points = forced, base_points

    def option(self, changes: Sequence[Change]) -> Option | None:
        """``changes`` weighed, or None when they are impossible or add nothing."""
        try:
            projected, actions = project(self.facts, self.state, (*self.forced, *changes))
        except ChangeError:
            return None
        gain = score(self.framework, projected).group(self.group.code).points - self.base_points
        if gain <= 0:
            return None
        cost = price(actions[len(self.forced):], self.framework.unit_prices)[1]
        return Option(tuple(changes), cost, gain)


def _clusters(framework: Framework, group: Group, facts: Facts, state: SchoolState,
              forced: tuple[Change, ...], base_points: int) -> list[list[Option]]:
    weigh = _Weigher(framework, group, facts, state, forced, base_points)
    base = project(facts, state, forced)[0] if forced else facts
    rules = [(item.code, rule) for criterion in group.criteria for item in criterion.scored_items
             for rule in item.rules]
    clusters: list[list[Option]] = []
    room_rules = [rule for _code, rule in rules if _reads_rooms(rule)]
    if room_rules:
        clusters.append(_room_options(weigh, base, state, room_rules))
    by_with: dict[str, list[str]] = {}
    for _code, rule in rules:
        if isinstance(rule, CapabilityRule) and not _reads_rooms(rule):
            if rule.with_capability:
                by_with.setdefault(rule.with_capability, []).append(rule.capability)
            else:
                clusters.append(_options(weigh, [[AdoptSoftware((rule.capability,))]]))
    for together, capabilities in by_with.items():
        clusters.append(_function_options(weigh, state, together, capabilities))
    for code, rule in rules:
        if isinstance(rule, EvidencePresentRule):
            clusters.append(_options(weigh, [[AddEvidence(code)]]))
        elif isinstance(rule, CountBandsRule) and rule.fact == "approved_materials":
            clusters.append(_options(weigh, [[ApproveMaterials(count)] for count in _band_steps(
                rule.bands, lambda count: count, base.counts[rule.fact], len(state.unapproved_materials))]))
        elif isinstance(rule, PercentageBandsRule) and rule.numerator in SKILL_FACTS.values():
            skill = next(skill for skill, fact in SKILL_FACTS.items() if fact == rule.numerator)
            share = partial(_percentage, whole=base.counts[rule.denominator])
            clusters.append(_options(weigh, [[TrainTeachers(count, skill)] for count in _band_steps(
                rule.bands, share, base.counts[rule.numerator], len(state.teachers_lacking.get(skill, ())))]))
    return clusters


def _percentage(part: int, whole: int) -> Fraction:
    return Fraction(100 * part, whole) if whole else Fraction(0)


def _options(weigh: _Weigher, change_sets) -> list[Option]:
    return [option for changes in change_sets if (option := weigh.option(changes)) is not None]


def _reads_rooms(rule) -> bool:
    """Whether ``rule`` reads what rooms and devices decide."""
    facts = {getattr(rule, name, None) for name in ("fact", "numerator", "denominator")}
    requirement = getattr(rule, "requires", None)
    if requirement is not None:
        facts.add(requirement.fact)
    return bool(facts & ROOM_FACTS)


def _band_steps(bands, share_of, current: int, available: int) -> list[int]:
    """For each band above the one ``current`` reaches, the fewest more (at most
    ``available``) whose ``share_of(current + more)`` reaches it."""
    steps = []
    for band in bands:
        if band.matches(share_of(current)):
            continue
        more = next((more for more in range(1, available + 1) if band.matches(share_of(current + more))),
                    None)
        if more is not None and more not in steps:
            steps.append(more)
    return steps


def _function_options(weigh: _Weigher, state: SchoolState, together: str, capabilities: list[str]) -> list[Option]:
    """Every set of the functions that count only with ``together`` (the LMS): added to the
    school's own when it has one in use, else on a new one."""
    host = next((software for software in state.software if together in software.capabilities), None)
    missing = [capability for capability in capabilities if host is None or capability not in host.capabilities]
    change_sets = []
    for size in range(1, len(missing) + 1):
        for chosen in itertools.combinations(missing, size):
            if host is not None:
                change_sets.append([AdoptSoftware(chosen, software_id=host.id)])
            else:
                change_sets.append([AdoptSoftware((together, *chosen))])
    return _options(weigh, change_sets)


def _room_options(weigh: _Weigher, facts: Facts, state: SchoolState, rules) -> list[Option]:
    """Every combination of repairs, equipped classrooms, lab computers, a studio and the
    capabilities that need a lab computer."""
    repairs = _repair_counts(weigh, _countable_repairs(state))
    equip = [0, *_equip_steps(facts, state, rules)]
    lab = [0, *_lab_steps(facts, rules)]
    studio = [False, True] if any(isinstance(rule, RoomPresentRule) for rule in rules) and not facts.counts[
        "studio_rooms"] else [False]
    capabilities = sorted({rule.capability for rule in rules if isinstance(rule, CapabilityRule)
                           and not facts.providers((rule.capability, rule.with_capability))[1]})
    software = [()] + [chosen for size in range(1, len(capabilities) + 1)
                       for chosen in itertools.combinations(capabilities, size)]
    change_sets = []
    for repair, classrooms, computers, build, adopted in itertools.product(repairs, equip, lab, studio, software):
        changes: list[Change] = []
        if repair:
            changes.append(RepairEquipment(repair))
        if classrooms:
            changes.append(EquipClassrooms(classrooms))
        if computers:
            changes.append(AddLabComputers(computers))
        if build:
            changes.append(BuildStudio())
        if adopted:
            changes.append(AdoptSoftware(adopted))
        if changes:
            change_sets.append(changes)
    return _options(weigh, change_sets)


def _repair_counts(weigh: _Weigher, most: int) -> list[int]:
    """0 and the repair counts (up to ``most``) from which the group's points rise, at
    most MAX_REPAIR_OPTIONS of them. Repairing more never lowers the points, so each
    count is found by bisection: a few projections, however many devices are broken."""
    def gain(count: int) -> float:
        option = weigh.option([RepairEquipment(count)])
        return option.gain if option else 0

    counts, low, current = [0], 0, 0
    top = gain(most) if most else 0
    while current < top and len(counts) <= MAX_REPAIR_OPTIONS:
        first, last = low + 1, most
        while first < last:
            middle = (first + last) // 2
            if gain(middle) > current:
                last = middle
            else:
                first = middle + 1
        counts.append(first)
        low, current = first, gain(first)
    return counts


def _countable_repairs(state: SchoolState) -> int:
    """How many broken devices could count for something once working: one display in
    each connected classroom without a working one, computers in computer labs and
    studios."""
    rooms = {room.id: room for room in state.rooms}
    displays = {device.room_id for device in state.broken if device.kind in DISPLAY_KINDS
                and (room := rooms.get(device.room_id)) is not None and room.kind == "classroom"
                and room.internet and not room.working_displays}
    computers = sum(1 for device in state.broken if device.kind in COMPUTER_KINDS
                    and (room := rooms.get(device.room_id)) is not None and room.kind in ("computer_lab", "studio"))
    return len(displays) + computers


def _equip_steps(facts: Facts, state: SchoolState, rules) -> list[int]:
    """For each band of the equipped-classroom share above today's, the fewest classrooms
    to equip (unequipped ones first, then new rooms) that reach it."""
    share_rules = [rule for rule in rules if isinstance(rule, PercentageBandsRule)
                   and rule.numerator == "equipped_classrooms"]
    if not share_rules:
        return []
    equipped, classrooms = facts.counts["equipped_classrooms"], facts.counts["classrooms"]
    unequipped = classrooms - equipped
    steps = []
    def share(more: int) -> Fraction:
        return _percentage(equipped + more, classrooms + max(0, more - unequipped))

    for band in share_rules[0].bands:
        if band.matches(share(0)):
            continue
        more = next((more for more in range(1, unequipped + MAX_EXTRA_CLASSROOMS) if band.matches(share(more))), None)
        if more is not None and more not in steps:
            steps.append(more)
    return steps


def _lab_steps(facts: Facts, rules) -> list[int]:
    """Lab computers to add for each better level of the students-per-computer ratio, and
    one when there is none (a requirement such as computer-based testing's)."""
    current = facts.counts["lab_working_computers"]
    steps = {1 - current} if current < 1 else set()
    for rule in rules:
        if isinstance(rule, LevelFromRatioRule) and rule.denominator == "lab_working_computers":
            people = facts.counts[rule.numerator]
            for level in rule.levels:
                if level.max_ratio is not None and exact(level.max_ratio) > 0:
                    needed = max(1, math.ceil(exact(people) / exact(level.max_ratio)))
                    if needed > current:
                        steps.add(needed - current)
        if getattr(rule, "requires", None) is not None and rule.requires.fact == "lab_working_computers":
            if current < rule.requires.min:
                steps.add(rule.requires.min - current)
    return sorted(steps)
