"""The pure scoring engine: a school's facts in, a scorecard with explanations out.

``score(framework, facts, adjustments)`` computes each sub-item's ceiling from the
framework's rules, applies reviewers' downward adjustments, then levels criteria and
groups. It uses only the standard library and the framework's dataclasses (no Flask, no
database), so the same call serves the live score, the sealed result and the planner.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, is_dataclass
from fractions import Fraction
from functools import cache

from app.framework.loader import (
    COUNT_FACTS,
    SCORING_CAPABILITIES,
    Band,
    CapabilityRule,
    CountBandsRule,
    Criterion,
    EvidencePresentRule,
    Framework,
    Group,
    Item,
    LevelBand,
    LevelFromRatioRule,
    PercentageBandsRule,
    RoomPresentRule,
    Rule,
    exact,
)

__all__ = [
    "COUNT_FACTS", "SCORING_CAPABILITIES", "NOT_MET_LABEL", "EVIDENCE_STATES", "AdjustmentError", "FactsError",
    "Facts", "Adjustment", "NextLevel", "ItemScore", "CriterionScore", "GroupScore", "Scorecard", "score",
]

NOT_MET_LABEL = "Chưa đạt điều kiện bắt buộc"
EVIDENCE_STATES = ("linked", "accepted")
SUGGESTIONS_SHOWN = 3

Points = int | float
SoftwareNeed = tuple[str, str | None]


class FactsError(ValueError):
    """Facts the engine cannot score: a missing or negative count, an unknown evidence state."""


class AdjustmentError(ValueError):
    """An adjustment that cannot be applied; ``code`` is the sub-item it names."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Facts:
    """What the engine knows about one school.

    ``counts``: every COUNT_FACTS key → a whole number >= 0.
    ``software``: (capability, with) → names of in-use software providing the capability
    (and ``with`` too, on the same software), possibly only the first few; a missing key
    means none. ``software_count``: how many provide it when the names are cut short
    (default: the number of names). ``evidence``: criterion or sub-item code → "linked"
    (linked, not rejected, not yet accepted) or "accepted"; codes without such evidence
    are absent. Raises FactsError when that does not hold.
    """

    counts: Mapping[str, int]
    software: Mapping[SoftwareNeed, Sequence[str]]
    software_count: Mapping[SoftwareNeed, int] = field(default_factory=dict)
    evidence: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self):
        missing = sorted(set(COUNT_FACTS) - set(self.counts))
        if missing:
            raise FactsError(f"missing count facts: {', '.join(missing)}")
        bad = sorted(name for name, value in self.counts.items()
                     if isinstance(value, bool) or not isinstance(value, int) or value < 0)
        if bad:
            raise FactsError(f"count facts must be whole numbers >= 0: {', '.join(bad)}")
        states = set(self.evidence.values()) - set(EVIDENCE_STATES)
        if states:
            raise FactsError(f"unknown evidence states: {', '.join(sorted(map(str, states)))}")

    def providers(self, need: SoftwareNeed) -> tuple[tuple[str, ...], int]:
        """(names shown, how many in all) of the software meeting ``need``."""
        names = tuple(self.software.get(need, ()))
        return names, self.software_count.get(need, len(names))


@dataclass(frozen=True)
class Adjustment:
    """A reviewer's value for a sub-item, at most its computed ceiling, with the reason."""

    points: Points
    reason: str


@dataclass(frozen=True)
class NextLevel:
    """The next level up, the fewest whole points that reach it, and the best next steps."""

    level: int
    label: str
    points_needed: int
    suggestions: tuple[str, ...]


@dataclass(frozen=True)
class ItemScore:
    """A scored sub-item (or a criterion scored directly, under its own code).

    ``ceiling``: what the rule gives; ``points``: the ceiling or the adjusted value;
    ``basis``: the Vietnamese sentence explaining it; ``hint``: the next step that raises
    it (None at max) and ``hint_gain`` the points that step adds; ``evidenced_points``:
    ``points`` when accepted evidence is linked to the item or its criterion, else 0.
    """

    code: str
    title: str
    points: Points
    max: int
    ceiling: int
    basis: str
    evidenced_points: Points
    adjustment: Adjustment | None
    interpretation: str | None
    hint: str | None
    hint_gain: Points


@dataclass(frozen=True)
class CriterionScore:
    """A mandatory criterion: ``met`` (evidence linked, not rejected), ``evidenced``
    (accepted), ``basis``; its points, max, level and items are None/empty.
    A scored criterion: ``met`` is None, ``points``/``max``, ``level`` 0 ("Không đạt") at
    0 points else from its bands, ``evidenced`` when every point is evidenced."""

    code: str
    title: str
    group: str
    mandatory: bool
    met: bool | None
    evidenced: bool
    points: Points | None
    max: int | None
    level: int | None
    level_label: str | None
    evidenced_points: Points | None
    items: tuple[ItemScore, ...]
    next_level: NextLevel | None
    basis: str | None
    interpretation: str | None


@dataclass(frozen=True)
class GroupScore:
    """``level`` comes from the points alone; ``recognised_level`` applies the framework's
    mandatory policy (None when withheld); ``status_label`` is what a badge shows."""

    code: str
    title: str
    points: Points
    max: int
    level: int
    level_label: str
    mandatory_met: bool
    recognised_level: int | None
    status_label: str
    evidenced_points: Points
    next_level: NextLevel | None
    missing_mandatory: tuple[str, ...]


@dataclass(frozen=True)
class Scorecard:
    framework_code: str
    framework_title: str
    groups: tuple[GroupScore, ...]
    criteria: tuple[CriterionScore, ...]
    overall_level: int | None  # None unless the framework's overall_level setting is lowest_of_groups

    def group(self, code: str) -> GroupScore:
        """The group with ``code``; KeyError when there is none."""
        return _by_code(self.groups, code)

    def criterion(self, code: str) -> CriterionScore:
        """The criterion with ``code``; KeyError when there is none."""
        return _by_code(self.criteria, code)

    def to_dict(self) -> dict:
        """The API's score shape (without the year): plain dicts, lists and numbers."""
        return {"framework": self.framework_code, "framework_title": self.framework_title,
                "overall_level": self.overall_level,
                "groups": [_plain(group) for group in self.groups],
                "criteria": [_plain(criterion) for criterion in self.criteria]}


def score(framework: Framework, facts: Facts, adjustments: Mapping[str, Adjustment] | None = None) -> Scorecard:
    """Score ``facts`` against ``framework``; ``adjustments`` maps sub-item codes (or a
    directly scored criterion's code, e.g. 1.4) to reviewers' values. Raises
    AdjustmentError for an unknown code, a negative or non-numeric value, a value above
    the computed ceiling, or an empty reason."""
    adjustments = adjustments or {}
    _check_adjustments(framework, adjustments)
    groups, criteria = [], []
    for group in framework.groups:
        scored = tuple(_score_criterion(framework, group, criterion, facts, adjustments)
                       for criterion in group.criteria)
        criteria.extend(scored)
        groups.append(_score_group(framework, group, scored))
    overall = None
    if framework.settings.overall_level == "lowest_of_groups":
        recognised = [group.recognised_level for group in groups]
        overall = None if None in recognised else min(recognised)
    return Scorecard(framework.code, framework.title, tuple(groups), tuple(criteria), overall)


# --- criteria and groups -------------------------------------------------------------

def _score_criterion(framework: Framework, group: Group, criterion: Criterion, facts: Facts,
                     adjustments: Mapping[str, Adjustment]) -> CriterionScore:
    if criterion.mandatory:
        state = facts.evidence.get(criterion.code)
        return CriterionScore(criterion.code, criterion.title, group.code, True, met=state is not None,
                              evidenced=state == "accepted", points=None, max=None, level=None, level_label=None,
                              evidenced_points=None, items=(), next_level=None, basis=_evidence_basis(state),
                              interpretation=criterion.interpretation)
    items = tuple(_score_item(item, criterion, facts, adjustments.get(item.code)) for item in criterion.scored_items)
    points = _tidy(sum(item.points for item in items))
    evidenced_points = _tidy(sum(item.evidenced_points for item in items))
    level = _level(criterion.levels, points) if points > 0 else 0
    return CriterionScore(criterion.code, criterion.title, group.code, False, met=None,
                          evidenced=points > 0 and evidenced_points == points, points=points, max=criterion.max,
                          level=level, level_label=framework.level_label(level), evidenced_points=evidenced_points,
                          items=items, next_level=_next_level(framework, criterion.levels, level, points, items),
                          basis=None, interpretation=criterion.interpretation)


def _score_group(framework: Framework, group: Group, criteria: tuple[CriterionScore, ...]) -> GroupScore:
    scored = [criterion for criterion in criteria if not criterion.mandatory]
    points = _tidy(sum(criterion.points for criterion in scored))
    level = _level(group.levels, points)
    label = framework.level_label(level)
    missing = tuple(criterion.code for criterion in criteria if criterion.mandatory and not criterion.met)
    policy = framework.settings.mandatory_policy
    if not missing or policy == "ignore":
        recognised, status = level, f"Mức {level} – {label}"
    elif policy == "cap_level_1":
        recognised, status = 1, f"Mức 1 – {framework.level_label(1)} ({NOT_MET_LABEL.lower()})"
    else:
        recognised, status = None, NOT_MET_LABEL
    items = tuple(item for criterion in scored for item in criterion.items)
    return GroupScore(group.code, group.title, points, group.max, level, label, mandatory_met=not missing,
                      recognised_level=recognised, status_label=status,
                      evidenced_points=_tidy(sum(criterion.evidenced_points for criterion in scored)),
                      next_level=_next_level(framework, group.levels, level, points, items),
                      missing_mandatory=missing)


def _level(bands: tuple[LevelBand, ...], points: Points) -> int:
    """The level of the highest band ``points`` reach (the lowest band always matches)."""
    return max(band.level for band in bands if band.matches(points))


def _next_level(framework: Framework, bands: tuple[LevelBand, ...], level: int, points: Points,
                items: Iterable[ItemScore]) -> NextLevel | None:
    """The band above ``level`` (bands hold levels 1..n in order), or None at the top."""
    if level >= len(bands):
        return None
    target = bands[level]
    gap = (exact(target.threshold) if target.threshold is not None else 0) - exact(points)
    # Level 1 starts at any points above 0; "from" needs the gap, "over" one whole point more.
    inclusive = target.threshold is not None and target.inclusive
    needed = max(1, math.ceil(gap) if inclusive else math.floor(gap) + 1)
    steps = sorted((item for item in items if item.hint), key=lambda item: -item.hint_gain)
    suggestions = tuple(f"{item.code}: {item.hint}" for item in steps[:SUGGESTIONS_SHOWN])
    return NextLevel(target.level, framework.level_label(target.level), needed, suggestions)


def _evidence_basis(state: str | None) -> str:
    if state == "accepted":
        return "Có minh chứng đã được chấp nhận"
    if state == "linked":
        return "Có minh chứng được liên kết, chưa được chấp nhận"
    return "Chưa có minh chứng được liên kết"


# --- sub-items ---------------------------------------------------------------------------

@dataclass(frozen=True)
class _Outcome:
    """What a rule gives: points, why, and the next step up (``hint``, adding ``gain``)."""

    points: int
    basis: str
    hint: str | None = None
    gain: Points = 0


def _score_item(item: Item, criterion: Criterion, facts: Facts, adjustment: Adjustment | None) -> ItemScore:
    outcome = _item_outcome(item, facts)
    ceiling, basis, hint, gain = outcome.points, outcome.basis, outcome.hint, outcome.gain
    points: Points = ceiling
    if adjustment is not None:
        if adjustment.points > ceiling:
            raise AdjustmentError(item.code, f"Không thể điều chỉnh {item.code} lên {_number(adjustment.points)} "
                                             f"điểm: kết quả tính được tối đa {ceiling} điểm.")
        points = _tidy(adjustment.points)
        reason = adjustment.reason.strip()
        if points < ceiling:
            basis = f"{basis}; điều chỉnh xuống {_number(points)} điểm: {reason}"
            fix = _with_gain(f"Khắc phục nội dung bị điều chỉnh ({reason})", ceiling - points)
            hint, gain = (f"{fix}; {hint}" if hint else fix), ceiling - points + gain
        else:
            basis = f"{basis}; giữ nguyên {_number(points)} điểm: {reason}"
    accepted = "accepted" in (facts.evidence.get(item.code), facts.evidence.get(criterion.code))
    return ItemScore(item.code, item.title, points, item.max, ceiling, basis,
                     evidenced_points=points if accepted else 0, adjustment=adjustment,
                     interpretation=item.interpretation, hint=hint, hint_gain=_tidy(gain))


def _item_outcome(item: Item, facts: Facts) -> _Outcome:
    """The rule's outcome, its hint ending with the points it adds ("(+2 điểm)")."""
    if not item.parts:
        outcome = _RULE_SCORERS[type(item.rule)](item.rule, item.max, facts, item.code)
        return dataclasses.replace(outcome, hint=_with_gain(outcome.hint, outcome.gain))
    outcomes = [(part.title, _RULE_SCORERS[type(part.rule)](part.rule, part.max, facts, item.code))
                for part in item.parts]
    hints = [f"{title}: {_with_gain(outcome.hint, outcome.gain)}" for title, outcome in outcomes if outcome.hint]
    return _Outcome(sum(outcome.points for _, outcome in outcomes),
                    "; ".join(f"{title}: {outcome.basis}" for title, outcome in outcomes),
                    "; ".join(hints) or None, sum(outcome.gain for _, outcome in outcomes))


def _with_gain(hint: str | None, gain: Points) -> str | None:
    """``hint`` and what following it adds, as people count it: "… (+2 điểm)"."""
    if hint is None or not gain:
        return hint
    return f"{hint} (+{_number(gain)} điểm)"


def _check_adjustments(framework: Framework, adjustments: Mapping[str, Adjustment]) -> None:
    """Everything about ``adjustments`` that does not need the computed ceilings."""
    codes = {item.code for item in framework.scored_items}
    for code, adjustment in adjustments.items():
        if code not in codes:
            raise AdjustmentError(code, f"{code} không phải là mục được chấm điểm của bộ chỉ số.")
        value = adjustment.points
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise AdjustmentError(code, f"Điểm điều chỉnh của {code} phải là một số.")
        if value < 0:
            raise AdjustmentError(code, f"Điểm điều chỉnh của {code} không được âm.")
        if not isinstance(adjustment.reason, str) or not adjustment.reason.strip():
            raise AdjustmentError(code, f"Cần ghi lý do điều chỉnh điểm của {code}.")


# --- rules: each gives an _Outcome for a sub-item worth max_points -----------------------

def _capability(rule: CapabilityRule, max_points: int, facts: Facts, code: str) -> _Outcome:
    names, total = facts.providers((rule.capability, rule.with_capability))
    provider = _lower_first(SCORING_CAPABILITIES[rule.with_capability]) if rule.with_capability else "phần mềm"
    wanted = f"{provider} đang dùng có chức năng {_lower_first(SCORING_CAPABILITIES[rule.capability])}"
    requirement = rule.requires
    also_needed = f" và ít nhất {requirement.min} {COUNT_FACTS[requirement.fact]}" if requirement else ""
    if not total:
        return _Outcome(0, f"Chưa có {wanted} → 0 điểm", f"Cần một {wanted}{also_needed}",
                        max_points)
    software = _software_text(names, total)
    if requirement and facts.counts[requirement.fact] < requirement.min:
        what = COUNT_FACTS[requirement.fact]
        return _Outcome(0, f"{software} (đang sử dụng), nhưng có {facts.counts[requirement.fact]} {what}, "
                           f"cần ít nhất {requirement.min} → 0 điểm",
                        f"Cần ít nhất {requirement.min} {what}", max_points)
    return _Outcome(max_points, f"{software} (đang sử dụng) → {max_points} điểm")


def _percentage_bands(rule: PercentageBandsRule, max_points: int, facts: Facts, code: str) -> _Outcome:
    part, whole = facts.counts[rule.numerator], facts.counts[rule.denominator]
    what = COUNT_FACTS[rule.numerator]
    if whole == 0:
        return _Outcome(0, f"Chưa có {COUNT_FACTS[rule.denominator]} để tính tỉ lệ → 0 điểm",
                        f"Cần khai báo {COUNT_FACTS[rule.denominator]} để tính tỉ lệ")
    share = Fraction(100 * part, whole)
    reached = _band_reached(rule.bands, share)
    points = rule.bands[reached].points if reached is not None else 0
    shown = _decimal(share, 0, (exact(band.threshold) for band in rule.bands))
    basis = f"{part}/{whole} {what} ({shown}%) → {points} điểm"
    target = _band_above(rule.bands, reached)
    if target is None:
        return _Outcome(points, basis)
    needed = _smallest_whole(exact(target.threshold) * whole / 100, target.inclusive)
    if needed > whole:
        return _Outcome(points, basis)
    goal = "" if target.threshold == 0 else f" để {'đạt' if target.inclusive else 'vượt'} {_number(target.threshold)}%"
    return _Outcome(points, basis, f"Cần thêm {needed - part} {what}{goal} ({needed}/{whole})",
                    target.points - points)


def _count_bands(rule: CountBandsRule, max_points: int, facts: Facts, code: str) -> _Outcome:
    count = facts.counts[rule.fact]
    what = COUNT_FACTS[rule.fact]
    reached = _band_reached(rule.bands, count)
    points = rule.bands[reached].points if reached is not None else 0
    basis = f"{count} {what} → {points} điểm"
    target = _band_above(rule.bands, reached)
    if target is None:
        return _Outcome(points, basis)
    needed = _smallest_whole(exact(target.threshold), target.inclusive)
    total = f" (đủ {needed})" if count else ""
    return _Outcome(points, basis, f"Cần thêm {needed - count} {what}{total}", target.points - points)


def _level_from_ratio(rule: LevelFromRatioRule, max_points: int, facts: Facts, code: str) -> _Outcome:
    people, places = facts.counts[rule.numerator], facts.counts[rule.denominator]
    people_what, places_what = COUNT_FACTS[rule.numerator], COUNT_FACTS[rule.denominator]
    unit = f" {rule.unit}" if rule.unit else ""
    if people == 0:
        return _Outcome(0, f"Chưa có số liệu {people_what} → 0 điểm", f"Cần khai báo số {people_what}")
    levels = rule.levels
    if places == 0:
        reached, basis = len(levels), f"Chưa có {places_what} → 0 điểm"
    else:
        ratio = Fraction(people, places)
        reached = next((index for index, level in enumerate(levels)
                        if level.max_ratio is None or ratio <= exact(level.max_ratio)), len(levels))
        shown = _decimal(ratio, 1, (exact(level.max_ratio) for level in levels if level.max_ratio is not None))
        result = (f"Mức {levels[reached].level} → {levels[reached].points} điểm" if reached < len(levels)
                  else f"trên {_number(levels[-1].max_ratio)}{unit} → 0 điểm")
        basis = f"{people} {people_what} / {places} {places_what} = {shown}{unit} → {result}"
    points = levels[reached].points if reached < len(levels) else 0
    if reached == 0:
        return _Outcome(points, basis)
    target = levels[reached - 1]
    if target.max_ratio is None:
        needed, goal = 1, ""
    else:
        needed = max(1, math.ceil(people / exact(target.max_ratio)))
        goal = f" để tỉ lệ không quá {_number(target.max_ratio)}{unit} ({people}/{needed})"
    return _Outcome(points, basis, f"Cần thêm {needed - places} {places_what}{goal} → Mức {target.level}",
                    target.points - points)


def _room_present(rule: RoomPresentRule, max_points: int, facts: Facts, code: str) -> _Outcome:
    count = facts.counts[rule.fact]
    what = COUNT_FACTS[rule.fact]
    if count >= 1:
        return _Outcome(max_points, f"Có {count} {what} → {max_points} điểm")
    return _Outcome(0, f"Chưa có {what} → 0 điểm", f"Cần có ít nhất 1 {what}", max_points)


def _evidence_present(rule: EvidencePresentRule, max_points: int, facts: Facts, code: str) -> _Outcome:
    state = facts.evidence.get(code)
    if state is None:
        return _Outcome(0, f"{_evidence_basis(state)} → 0 điểm",
                        f"Cần liên kết minh chứng (văn bản đã ban hành) với {code}", max_points)
    return _Outcome(max_points, f"{_evidence_basis(state)} → {max_points} điểm")


_RULE_SCORERS: dict[type, Callable[[Rule, int, Facts, str], _Outcome]] = {
    CapabilityRule: _capability,
    PercentageBandsRule: _percentage_bands,
    CountBandsRule: _count_bands,
    LevelFromRatioRule: _level_from_ratio,
    RoomPresentRule: _room_present,
    EvidencePresentRule: _evidence_present,
}


def _band_reached(bands: tuple[Band, ...], value: int | Fraction) -> int | None:
    """Index of the highest band ``value`` matches, or None."""
    return next((index for index in reversed(range(len(bands))) if bands[index].matches(value)), None)


def _band_above(bands: tuple[Band, ...], reached: int | None) -> Band | None:
    following = 0 if reached is None else reached + 1
    return bands[following] if following < len(bands) else None


def _smallest_whole(limit: Fraction, inclusive: bool) -> int:
    """The smallest whole number from (``inclusive``) or over ``limit``."""
    return math.ceil(limit) if inclusive else math.floor(limit) + 1


# --- wording -----------------------------------------------------------------------------

def _software_text(names: tuple[str, ...], total: int) -> str:
    if not names:
        return f"{total} phần mềm"
    shown = ", ".join(names)
    return f"{shown} và {total - len(names)} phần mềm khác" if total > len(names) else shown


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _number(value: Points | Fraction, places: int = 2) -> str:
    """``value`` with a decimal comma and at most ``places`` decimals: 5, 2,5, 1,75."""
    if value == int(value):
        return str(int(value))
    return f"{float(value):.{places}f}".rstrip("0").rstrip(".").replace(".", ",")


def _decimal(value: Fraction, places: int, boundaries: Iterable[Fraction]) -> str:
    """``value`` rounded half up to ``places`` decimals, with more decimals when rounding
    would show a boundary it is not on (29.9% must not read 30%, nor 60.1% read 60%)."""
    boundaries = set(boundaries)
    while True:
        scale = 10 ** places
        shown = Fraction(math.floor(value * scale + Fraction(1, 2)), scale)
        if shown == value or shown not in boundaries or places >= 6:
            return _number(shown, places)
        places += 1


def _tidy(points: Points) -> Points:
    """Whole-valued points as int (a sum of ints stays an int; 3.0 becomes 3)."""
    return int(points) if points == int(points) else points


def _by_code(scores, code: str):
    for entry in scores:
        if entry.code == code:
            return entry
    raise KeyError(code)


def _plain(value):
    """Dataclasses as dicts and tuples as lists, recursively, for JSON."""
    if isinstance(value, str | int | float | None):
        return value
    if isinstance(value, tuple | list):
        return [_plain(entry) for entry in value]
    names = _field_names(type(value)) if is_dataclass(value) else None
    if names is None:
        return value
    return {name: _plain(getattr(value, name)) for name in names}


@cache
def _field_names(cls) -> tuple[str, ...]:
    return tuple(item.name for item in fields(cls))
