"""The index as data: read a framework YAML file (``data/*.yaml``), check that it is
complete and adds up, and return it as frozen dataclasses.

``load_framework_file(path)`` reads a file, ``load_framework_text(text, name)`` reads YAML
already in memory (``name`` is used in messages). Both raise ``FrameworkError`` whose
message names the file, the line and the reason, e.g.
``qd.yaml line 57: criterion 1.3: sub-item points add up to 28, but max is 30.``
"""

from __future__ import annotations

import math
import pathlib
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from types import MappingProxyType
from typing import ClassVar, NoReturn

import yaml

BUILTIN_DIR = pathlib.Path(__file__).parent / "data"

# The school facts a rule may count, with how a sentence names them ("8/15 phòng học ...").
COUNT_FACTS: Mapping[str, str] = MappingProxyType({
    "classrooms": "phòng học",
    "equipped_classrooms": "phòng học có thiết bị trình chiếu và Internet",
    "lab_working_computers": "máy tính hoạt động trong phòng máy",
    "studio_rooms": "phòng studio có máy tính hoạt động",
    "approved_materials": "học liệu số được tổ chuyên môn thông qua và hiệu trưởng phê duyệt",
    "teachers": "giáo viên",
    "teachers_training_account": "giáo viên có tài khoản bồi dưỡng trực tuyến",
    "teachers_using_software": "giáo viên sử dụng được phần mềm, công cụ để đổi mới dạy học",
    "teachers_building_materials": "giáo viên xây dựng được học liệu số, bài giảng điện tử",
    "largest_class_size": "học sinh (lớp đông nhất)",
})

# Software capabilities a rule may ask for (software with status in_use).
SCORING_CAPABILITIES: Mapping[str, str] = MappingProxyType({
    "online_teaching": "Dạy học trực tuyến trực tiếp",
    "lms": "Hệ thống quản lý học tập (LMS/LCMS)",
    # The four LMS functions count only on software that is also an LMS (rules say `with: lms`).
    "lms_assign_self_study": "Giao bài cho học sinh tự học",
    "lms_answer_questions": "Trả lời câu hỏi của học sinh",
    "lms_regular_assessment": "Kiểm tra, đánh giá thường xuyên",
    "lms_parent_participation": "Phụ huynh tham gia hoạt động học tập của học sinh",
    "computer_based_testing": "Thi, kiểm tra trên máy tính",
    "testing_results_to_management": "Chuyển kết quả thi, kiểm tra sang phần mềm quản trị",
    "student_records": "Quản lý học sinh (hồ sơ, kết quả học tập)",
    "e_gradebook": "Sổ điểm điện tử",
    "e_transcript": "Học bạ điện tử",
    "staff_records": "Quản lý đội ngũ cán bộ, giáo viên, nhân viên",
    "facility_management": "Quản lý cơ sở vật chất",
    "school_health": "Quản lý y tế trường học, sức khoẻ học sinh",
    "accounting": "Quản lý kế toán",
    "sector_database_sync": "Kết nối, trao đổi dữ liệu với CSDL ngành",
    "parent_connection": "Kết nối gia đình – nhà trường",
    "online_admission": "Tuyển sinh đầu cấp trực tuyến",
    "cashless_payment": "Thu phí không dùng tiền mặt",
})

MANDATORY_POLICIES = ("withhold_level", "cap_level_1", "ignore")
MAX_KEYWORD_CHARS = 120
OVERALL_LEVELS = ("none", "lowest_of_groups")


class FrameworkError(ValueError):
    """An index file that cannot be used; ``line`` is 1-based, or None for the whole file."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.line = line


def exact(number: int | float) -> Fraction:
    """``number`` as an exact fraction (a YAML ``0.1`` is one tenth, not its binary float)."""
    return Fraction(number) if isinstance(number, int) else Fraction(repr(number))


@dataclass(frozen=True)
class Band:
    """``points`` for values from (>=, ``inclusive``) or over (>) ``threshold``."""

    threshold: int | float
    inclusive: bool
    points: int

    def matches(self, value: int | Fraction) -> bool:
        limit = exact(self.threshold)
        return value >= limit if self.inclusive else value > limit


@dataclass(frozen=True)
class LevelBand:
    """``level`` for points from (>=) or over (>) ``threshold``; the lowest level has none."""

    level: int
    threshold: int | float | None = None
    inclusive: bool = True

    def matches(self, points: int | float) -> bool:
        if self.threshold is None:
            return True
        return points >= self.threshold if self.inclusive else points > self.threshold


@dataclass(frozen=True)
class RatioLevel:
    """``level`` and ``points`` for a ratio of at most ``max_ratio`` (None: any ratio)."""

    level: int
    points: int
    max_ratio: int | float | None = None


@dataclass(frozen=True)
class Requirement:
    """Count fact ``fact`` must be at least ``min``."""

    fact: str
    min: int


@dataclass(frozen=True)
class CapabilityRule:
    """Full points when software in use has ``capability`` (and, the same software,
    ``with_capability``), provided ``requires`` holds."""

    type: ClassVar[str] = "capability"
    capability: str
    with_capability: str | None = None
    requires: Requirement | None = None


@dataclass(frozen=True)
class PercentageBandsRule:
    """Points from the band of ``numerator``/``denominator`` as a percentage; 0 when the
    denominator is 0."""

    type: ClassVar[str] = "percentage_bands"
    numerator: str
    denominator: str
    bands: tuple[Band, ...]


@dataclass(frozen=True)
class CountBandsRule:
    """Points from the band of count fact ``fact``."""

    type: ClassVar[str] = "count_bands"
    fact: str
    bands: tuple[Band, ...]


@dataclass(frozen=True)
class LevelFromRatioRule:
    """A level and its points from ``numerator``/``denominator`` (lower is better): the
    first of ``levels`` whose ``max_ratio`` holds; 0 points when either count is 0."""

    type: ClassVar[str] = "level_from_ratio"
    numerator: str
    denominator: str
    levels: tuple[RatioLevel, ...]
    unit: str | None = None


@dataclass(frozen=True)
class RoomPresentRule:
    """Full points when count fact ``fact`` is at least 1."""

    type: ClassVar[str] = "room_present"
    fact: str


@dataclass(frozen=True)
class EvidencePresentRule:
    """Met (full points) when evidence linked to the code is not rejected."""

    type: ClassVar[str] = "evidence_present"


Rule = (CapabilityRule | PercentageBandsRule | CountBandsRule | LevelFromRatioRule | RoomPresentRule
        | EvidencePresentRule)


@dataclass(frozen=True)
class Part:
    """A share of a sub-item's points met by its own rule (2.3.c: gradebook, transcript)."""

    title: str
    max: int
    rule: Rule


@dataclass(frozen=True)
class Item:
    """A scored sub-item: one ``rule``, or ``parts`` whose points add up. ``evidence_needed``
    and ``evidence_keywords`` as on Criterion (2.3.a, met by a document, carries them)."""

    code: str
    title: str
    max: int
    rule: Rule | None
    interpretation: str | None = None
    parts: tuple[Part, ...] = ()
    evidence_needed: str | None = None
    evidence_keywords: tuple[str, ...] = ()

    @property
    def rules(self) -> tuple[Rule, ...]:
        return tuple(part.rule for part in self.parts) if self.parts else (self.rule,)


@dataclass(frozen=True)
class Criterion:
    """A mandatory criterion (``rule`` says how it is met; no points), or a scored one with
    ``max``, ``levels`` and either sub-``items`` or one direct ``rule`` (1.4).

    ``evidence_needed`` says in Vietnamese what document still proves it, to follow its
    code where it lacks evidence ("1.1 cần kế hoạch ..."); ``evidence_keywords`` are the
    phrases a document proving it is likely to contain (criteria suggestions). Both are
    optional in the file: None and () when absent."""

    code: str
    title: str
    max: int | None
    mandatory: bool
    rule: Rule | None
    items: tuple[Item, ...]
    levels: tuple[LevelBand, ...]
    interpretation: str | None = None
    evidence_needed: str | None = None
    evidence_keywords: tuple[str, ...] = ()

    @property
    def scored_items(self) -> tuple[Item, ...]:
        """What the engine scores: the sub-items, or for a directly scored criterion one
        item with the criterion's own code; nothing for a mandatory criterion."""
        if self.mandatory:
            return ()
        if self.items:
            return self.items
        return (Item(self.code, self.title, self.max, self.rule, self.interpretation),)


@dataclass(frozen=True)
class Group:
    code: str
    title: str
    max: int
    criteria: tuple[Criterion, ...]
    levels: tuple[LevelBand, ...]


@dataclass(frozen=True)
class Settings:
    """``mandatory_policy``: one of MANDATORY_POLICIES; ``overall_level``: one of
    OVERALL_LEVELS; each with the sentence explaining the choice."""

    mandatory_policy: str = "withhold_level"
    overall_level: str = "none"
    mandatory_policy_interpretation: str | None = None
    overall_level_interpretation: str | None = None


# What the planner prices, per unit of a change (see unit_prices in the data files).
UNIT_PRICE_KEYS: Mapping[str, str] = MappingProxyType({
    "projector": "a display device (projector, TV or interactive board) for a classroom",
    "classroom_internet": "connecting a classroom to the Internet",
    "repair": "repairing a broken device",
    "lab_computer": "a computer for the computer lab",
    "studio": "a studio room with its computer and equipment",
    "teacher_training": "a training course, per teacher",
    "material_approval": "approving a digital learning material",
    "evidence_document": "issuing a missing document",
    "software_capability": "a software capability, per year, unless listed under capabilities",
})


@dataclass(frozen=True)
class UnitPrices:
    """Estimated costs in VND: ``items`` (UNIT_PRICE_KEYS → price) and ``capabilities``
    (a scoring capability → its price per year, else the ``software_capability`` price).
    A missing price is 0."""

    items: tuple[tuple[str, int], ...] = ()
    capabilities: tuple[tuple[str, int], ...] = ()

    def of(self, key: str) -> int:
        """The price of ``key``: a UNIT_PRICE_KEYS name or ``capability:<capability>``."""
        if key.startswith("capability:"):
            listed = dict(self.capabilities).get(key.removeprefix("capability:"))
            return listed if listed is not None else dict(self.items).get("software_capability", 0)
        return dict(self.items).get(key, 0)

    def to_dict(self) -> dict:
        return {**dict(self.items), "capabilities": dict(self.capabilities)}


@dataclass(frozen=True)
class Framework:
    code: str
    title: str
    decision: str
    settings: Settings
    level_labels: tuple[str, ...]  # index = level; 0 is "not achieved"
    group_levels: tuple[LevelBand, ...]
    groups: tuple[Group, ...]
    unit_prices: UnitPrices = UnitPrices()

    @property
    def criteria(self) -> tuple[Criterion, ...]:
        """Every criterion, in order."""
        return tuple(criterion for group in self.groups for criterion in group.criteria)

    @property
    def scored_items(self) -> tuple[Item, ...]:
        """Every scored item (the codes an adjustment may name), in order."""
        return tuple(item for criterion in self.criteria for item in criterion.scored_items)

    def find(self, code: str) -> Group | Criterion | Item | None:
        """The group, criterion or sub-item with ``code``, or None."""
        for group in self.groups:
            if group.code == code:
                return group
            for criterion in group.criteria:
                if criterion.code == code:
                    return criterion
                for item in criterion.items:
                    if item.code == code:
                        return item
        return None

    def level_label(self, level: int) -> str:
        return self.level_labels[level]

    def capability_items(self) -> dict[str, tuple[str, ...]]:
        """Capability → codes of the sub-items whose rules read it (as the capability or as
        the one it must come with)."""
        items: dict[str, list[str]] = {}
        for item in self.scored_items:
            for rule in item.rules:
                if isinstance(rule, CapabilityRule):
                    for capability in filter(None, (rule.capability, rule.with_capability)):
                        items.setdefault(capability, []).append(item.code)
        return {capability: tuple(dict.fromkeys(codes)) for capability, codes in items.items()}

    def capability_needs(self) -> set[tuple[str, str | None]]:
        """Each (capability, with) pair the rules ask about: the facts' ``software`` keys."""
        return {(rule.capability, rule.with_capability) for item in self.scored_items for rule in item.rules
                if isinstance(rule, CapabilityRule)}


def load_framework_file(path: str | pathlib.Path) -> Framework:
    """The framework in the YAML file at ``path``. Raises FrameworkError (also when the
    file cannot be read or is not UTF-8)."""
    path = pathlib.Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise FrameworkError(f"{path.name}: cannot be read: {error}") from error
    return load_framework_text(text, name=path.name)


def load_framework_text(text: str, name: str = "<text>") -> Framework:
    """The framework in YAML ``text``; ``name`` stands for it in messages. Raises
    FrameworkError."""
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else None
        where = f" line {line}" if line else ""
        raise FrameworkError(f"{name}{where}: invalid YAML: {error.problem or error.context}.", line) from error
    except yaml.YAMLError as error:
        raise FrameworkError(f"{name}: invalid YAML: {error}.") from error
    if root is None:
        raise FrameworkError(f"{name}: the file is empty.")
    try:
        return _Reader(name, loader).framework(root)
    finally:
        loader.dispose()


def builtin_frameworks() -> dict[str, Framework]:
    """Code → framework of every file in BUILTIN_DIR. Raises FrameworkError when one is
    invalid or two share a code."""
    frameworks: dict[str, Framework] = {}
    for path in sorted(BUILTIN_DIR.glob("*.yaml")):
        framework = load_framework_file(path)
        if framework.code in frameworks:
            raise FrameworkError(f"{path.name}: code {framework.code} is already used by another built-in file.")
        frameworks[framework.code] = framework
    return frameworks


# --- reading the node tree -------------------------------------------------------------
# The YAML is composed into nodes (not constructed into dicts) so every value keeps its
# line, duplicate keys are caught, and codes such as 1.1 stay text instead of becoming
# floats.

_TOP_KEYS = {"code", "title", "decision", "settings", "level_labels", "group_levels", "groups"}
_RULE_KEYS = {
    CapabilityRule.type: ({"capability"}, {"with", "requires"}),
    PercentageBandsRule.type: ({"numerator", "denominator", "bands"}, set()),
    CountBandsRule.type: ({"fact", "bands"}, set()),
    LevelFromRatioRule.type: ({"numerator", "denominator", "levels"}, {"unit"}),
    RoomPresentRule.type: ({"fact"}, set()),
    EvidencePresentRule.type: (set(), set()),
}
_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"
_BOOL_TAG = "tag:yaml.org,2002:bool"
_TEXT_TAGS = {"tag:yaml.org,2002:str", _INT_TAG, _FLOAT_TAG}


class _Reader:
    """Builds a Framework from a composed YAML node tree, refusing what does not fit."""

    def __init__(self, name: str, loader: yaml.SafeLoader):
        self.name = name
        self.loader = loader
        self.code_lines: dict[str, int] = {}
        self.top_level = 0  # the highest level with a label, known once level_labels is read

    # -- errors and scalar values --

    def fail(self, node: yaml.Node, context: str, reason: str) -> NoReturn:
        line = node.start_mark.line + 1
        raise FrameworkError(f"{self.name} line {line}: {context}: {reason}", line)

    def mapping(self, node: yaml.Node, context: str, required: set[str], optional: set[str] | None = None
                ) -> dict[str, yaml.Node]:
        """The key → value node pairs of mapping ``node``, which must hold every
        ``required`` key and nothing outside ``required | optional``."""
        if not isinstance(node, yaml.MappingNode):
            self.fail(node, context, "expected a mapping of keys to values.")
        allowed = required | (optional or set())
        values: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self.fail(key_node, context, "keys must be plain words.")
            key = key_node.value
            if key in values:
                self.fail(key_node, context, f"key '{key}' appears twice.")
            if key not in allowed:
                self.fail(key_node, context, f"unknown key '{key}' (allowed: {', '.join(sorted(allowed))}).")
            values[key] = value_node
        missing = sorted(required - values.keys())
        if missing:
            self.fail(node, context, f"missing key{'s' if len(missing) > 1 else ''} {', '.join(missing)}.")
        return values

    def text(self, node: yaml.Node, context: str, key: str) -> str:
        if not isinstance(node, yaml.ScalarNode) or node.tag not in _TEXT_TAGS or not node.value.strip():
            self.fail(node, context, f"{key} must be non-empty text.")
        return node.value.strip()

    def whole(self, node: yaml.Node, context: str, key: str, minimum: int = 0) -> int:
        if not isinstance(node, yaml.ScalarNode) or node.tag != _INT_TAG:
            self.fail(node, context, f"{key} must be a whole number, not {_shown(node)}.")
        value = self.loader.construct_object(node)
        if value < minimum:
            self.fail(node, context, f"{key} must be at least {minimum}, not {value}.")
        return value

    def number(self, node: yaml.Node, context: str, key: str) -> int | float:
        if not isinstance(node, yaml.ScalarNode) or node.tag not in (_INT_TAG, _FLOAT_TAG):
            self.fail(node, context, f"{key} must be a number, not {_shown(node)}.")
        value = self.loader.construct_object(node)
        if not math.isfinite(value) or value < 0:
            self.fail(node, context, f"{key} must be a number of at least 0, not {node.value}.")
        return value

    def flag(self, node: yaml.Node, context: str, key: str) -> bool:
        if not isinstance(node, yaml.ScalarNode) or node.tag != _BOOL_TAG:
            self.fail(node, context, f"{key} must be true or false, not {_shown(node)}.")
        return self.loader.construct_object(node)

    def choice(self, node: yaml.Node, context: str, key: str, allowed) -> str:
        value = self.text(node, context, key)
        if value not in allowed:
            self.fail(node, context, f"unknown {key} '{value}' (known: {', '.join(allowed)}).")
        return value

    def sequence(self, node: yaml.Node, context: str, key: str) -> list[yaml.Node]:
        if not isinstance(node, yaml.SequenceNode) or not node.value:
            self.fail(node, context, f"{key} must be a non-empty list.")
        return node.value

    def code(self, node: yaml.Node, context: str, parent: str | None = None) -> str:
        """A new code, unique in the file and (when ``parent`` is given) starting with it."""
        code = self.text(node, context, "code")
        if parent is not None and not code.startswith(parent + "."):
            self.fail(node, context, f"code {code} must start with {parent}. (the code it is listed under).")
        if code in self.code_lines:
            self.fail(node, context, f"code {code} is already used on line {self.code_lines[code]}.")
        self.code_lines[code] = node.start_mark.line + 1
        return code

    @staticmethod
    def context(node: yaml.Node, kind: str, fallback: str) -> str:
        """``kind`` and the code written in mapping ``node`` (e.g. "criterion 1.3"), to name
        it in messages before its keys are checked; ``fallback`` when it has no code."""
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if key_node.value == "code" and isinstance(value_node, yaml.ScalarNode) and value_node.value:
                    return f"{kind} {value_node.value}"
        return fallback

    def optional_text(self, values: dict[str, yaml.Node], context: str, key: str) -> str | None:
        return self.text(values[key], context, key) if key in values else None

    # -- the framework --

    def framework(self, root: yaml.Node) -> Framework:
        values = self.mapping(root, "the file", _TOP_KEYS, {"unit_prices"})
        code = self.text(values["code"], "the file", "code")
        level_labels = self.level_labels(values["level_labels"])
        self.top_level = len(level_labels) - 1
        group_levels = self.level_bands(values["group_levels"], "group_levels")
        groups = tuple(self.group(node, group_levels)
                       for node in self.sequence(values["groups"], "the file", "groups"))
        return Framework(code=code, title=self.text(values["title"], "the file", "title"),
                         decision=self.text(values["decision"], "the file", "decision"),
                         settings=self.settings(values["settings"]), level_labels=level_labels,
                         group_levels=group_levels, groups=groups,
                         unit_prices=self.unit_prices(values["unit_prices"]) if "unit_prices" in values
                         else UnitPrices())

    def unit_prices(self, node: yaml.Node) -> UnitPrices:
        """Every UNIT_PRICE_KEYS price (whole VND >= 0) and optionally ``capabilities``, a
        price per scoring capability."""
        values = self.mapping(node, "unit_prices", set(UNIT_PRICE_KEYS), {"capabilities"})
        items = tuple((key, self.whole(values[key], "unit_prices", key)) for key in UNIT_PRICE_KEYS)
        capabilities = ()
        if "capabilities" in values:
            context = "unit_prices: capabilities"
            listed = self.mapping(values["capabilities"], context, set(), set(SCORING_CAPABILITIES))
            capabilities = tuple((key, self.whole(listed[key], context, key)) for key in SCORING_CAPABILITIES
                                 if key in listed)
        return UnitPrices(items, capabilities)

    def settings(self, node: yaml.Node) -> Settings:
        values = self.mapping(node, "settings", set(), {"mandatory_policy", "overall_level"})
        chosen = {}
        for key, allowed in (("mandatory_policy", MANDATORY_POLICIES), ("overall_level", OVERALL_LEVELS)):
            if key in values:
                setting = self.mapping(values[key], f"settings: {key}", {"value"}, {"interpretation"})
                chosen[key] = self.choice(setting["value"], f"settings: {key}", key, allowed)
                chosen[f"{key}_interpretation"] = self.optional_text(setting, f"settings: {key}", "interpretation")
        return Settings(**chosen)

    def level_labels(self, node: yaml.Node) -> tuple[str, ...]:
        if not isinstance(node, yaml.MappingNode):
            self.fail(node, "level_labels", "expected a mapping of level numbers to labels.")
        labels = {}
        for key_node, value_node in node.value:
            level = self.whole(key_node, "level_labels", "a level")
            if level in labels:
                self.fail(key_node, "level_labels", f"level {level} appears twice.")
            labels[level] = self.text(value_node, "level_labels", f"the label of level {level}")
        if sorted(labels) != list(range(len(labels))) or len(labels) < 2:
            self.fail(node, "level_labels", "labels must be given for levels 0, 1, 2, … without gaps.")
        return tuple(labels[level] for level in range(len(labels)))

    def level_bands(self, node: yaml.Node, context: str, max_points: int | None = None) -> tuple[LevelBand, ...]:
        """Levels 1..top_level, the first without a boundary, boundaries rising and (when
        ``max_points`` is given) reachable."""
        bands = []
        for index, band_node in enumerate(self.sequence(node, context, "levels"), start=1):
            values = self.mapping(band_node, context, {"level"}, {"from", "over"})
            level = self.whole(values["level"], context, "level")
            if level != index:
                self.fail(values["level"], context, f"levels must be listed 1, 2, 3, …; expected level {index} here.")
            boundary = self.boundary(band_node, values, context, required=index > 1)
            if index == 1 and boundary:
                self.fail(band_node, context, "the lowest level applies below the next one and takes no from/over.")
            band = LevelBand(level, *boundary) if boundary else LevelBand(level)
            if bands and bands[-1].threshold is not None and _order(band) <= _order(bands[-1]):
                self.fail(band_node, context, f"level boundaries must increase: level {level} {_boundary_text(band)} "
                                              f"comes after level {level - 1} {_boundary_text(bands[-1])}.")
            if max_points is not None and not band.matches(max_points):
                self.fail(band_node, context, f"level {level} can never be reached: "
                                              f"{_boundary_text(band)} with max {max_points}.")
            bands.append(band)
        if len(bands) != self.top_level:
            self.fail(node, context, f"expected levels 1 to {self.top_level} (the levels that have labels).")
        return tuple(bands)

    def boundary(self, node: yaml.Node, values: dict[str, yaml.Node], context: str, required: bool
                 ) -> tuple[int | float, bool] | None:
        """(threshold, inclusive) from exactly one of ``from`` (>=) and ``over`` (>)."""
        given = [key for key in ("from", "over") if key in values]
        if len(given) > 1:
            self.fail(node, context, "give either from (>=) or over (>), not both.")
        if not given:
            if required:
                self.fail(node, context, "missing from (>=) or over (>).")
            return None
        key = given[0]
        return self.number(values[key], context, key), key == "from"

    def group(self, node: yaml.Node, levels: tuple[LevelBand, ...]) -> Group:
        context = self.context(node, "group", "group")
        values = self.mapping(node, context, {"code", "title", "max", "criteria"})
        code = self.code(values["code"], context)
        max_points = self.whole(values["max"], context, "max", minimum=1)
        for band in levels:
            if not band.matches(max_points):
                self.fail(values["max"], context,
                          f"group level {band.level} can never be reached with max {max_points}.")
        criteria = tuple(self.criterion(criterion_node, code)
                         for criterion_node in self.sequence(values["criteria"], context, "criteria"))
        total = sum(criterion.max for criterion in criteria if not criterion.mandatory)
        if total != max_points:
            self.fail(values["max"], context, f"criterion points add up to {total}, but max is {max_points}.")
        return Group(code, self.text(values["title"], context, "title"), max_points, criteria, levels)

    def criterion(self, node: yaml.Node, group_code: str) -> Criterion:
        context = self.context(node, "criterion", f"group {group_code}: criterion")
        values = self.mapping(node, context, {"code", "title"},
                              {"mandatory", "max", "levels", "rule", "items", "interpretation", "evidence"})
        code = self.code(values["code"], context, parent=group_code)
        title = self.text(values["title"], context, "title")
        interpretation = self.optional_text(values, context, "interpretation")
        evidence = self.evidence(values["evidence"], context) if "evidence" in values else {}
        mandatory = self.flag(values["mandatory"], context, "mandatory") if "mandatory" in values else False
        if mandatory:
            for key in ("max", "levels", "items"):
                if key in values:
                    self.fail(values[key], context, f"a mandatory criterion has no {key}; it is met, not scored.")
            if "rule" not in values:
                self.fail(node, context, "a mandatory criterion needs rule: {type: evidence_present}.")
            if self.rule_type(values["rule"], context) != EvidencePresentRule.type:
                self.fail(values["rule"], context,
                          "a mandatory criterion is met by evidence: use type evidence_present.")
            rule = self.rule(values["rule"], context, max_points=0)
            return Criterion(code, title, None, True, rule, (), (), interpretation, **evidence)
        for key in ("max", "levels"):
            if key not in values:
                self.fail(node, context, f"missing key {key} (or mandatory: true).")
        if ("rule" in values) == ("items" in values):
            self.fail(node, context, "give either one rule or a list of items.")
        max_points = self.whole(values["max"], context, "max", minimum=1)
        levels = self.level_bands(values["levels"], context, max_points)
        if "rule" in values:
            rule = self.rule(values["rule"], context, max_points)
            return Criterion(code, title, max_points, False, rule, (), levels, interpretation, **evidence)
        items = tuple(self.item(item_node, code) for item_node in self.sequence(values["items"], context, "items"))
        total = sum(item.max for item in items)
        if total != max_points:
            self.fail(values["max"], context, f"sub-item points add up to {total}, but max is {max_points}.")
        return Criterion(code, title, max_points, False, None, items, levels, interpretation, **evidence)

    def item(self, node: yaml.Node, criterion_code: str) -> Item:
        context = self.context(node, "sub-item", f"criterion {criterion_code}: sub-item")
        values = self.mapping(node, context, {"code", "title", "max"}, {"rule", "parts", "interpretation", "evidence"})
        code = self.code(values["code"], context, parent=criterion_code)
        title = self.text(values["title"], context, "title")
        max_points = self.whole(values["max"], context, "max", minimum=1)
        interpretation = self.optional_text(values, context, "interpretation")
        evidence = self.evidence(values["evidence"], context) if "evidence" in values else {}
        if ("rule" in values) == ("parts" in values):
            self.fail(node, context, "give either one rule or a list of parts.")
        if "rule" in values:
            return Item(code, title, max_points, self.rule(values["rule"], context, max_points), interpretation,
                        **evidence)
        parts = tuple(self.part(part_node, context) for part_node in self.sequence(values["parts"], context, "parts"))
        total = sum(part.max for part in parts)
        if total != max_points:
            self.fail(values["max"], context, f"part points add up to {total}, but max is {max_points}.")
        return Item(code, title, max_points, None, interpretation, parts, **evidence)

    def part(self, node: yaml.Node, context: str) -> Part:
        values = self.mapping(node, f"{context}: part", {"title", "max", "rule"})
        title = self.text(values["title"], f"{context}: part", "title")
        max_points = self.whole(values["max"], f"{context}: part {title}", "max", minimum=1)
        return Part(title, max_points, self.rule(values["rule"], f"{context}: part {title}", max_points))

    def evidence(self, node: yaml.Node, context: str) -> dict:
        """``evidence: {needed: text, keywords: [text, ...]}`` (either or both) as the
        evidence_needed and evidence_keywords fields; keywords must differ from each other
        also when compared without case and diacritics."""
        context = f"{context}: evidence"
        values = self.mapping(node, context, set(), {"needed", "keywords"})
        if not values:
            self.fail(node, context, "give needed, keywords or both.")
        found: dict = {}
        if "needed" in values:
            found["evidence_needed"] = " ".join(self.text(values["needed"], context, "needed").split())
        if "keywords" in values:
            keywords: dict[str, str] = {}
            for keyword_node in self.sequence(values["keywords"], context, "keywords"):
                keyword = " ".join(self.text(keyword_node, context, "a keyword").split())
                if len(keyword) > MAX_KEYWORD_CHARS:
                    self.fail(keyword_node, context, f"a keyword has at most {MAX_KEYWORD_CHARS} characters.")
                key = _keyword_key(keyword)
                if not key:
                    self.fail(keyword_node, context, f"keyword '{keyword}' has no letters or digits.")
                if key in keywords:
                    self.fail(keyword_node, context, f"keyword '{keyword}' repeats '{keywords[key]}'.")
                keywords[key] = keyword
            found["evidence_keywords"] = tuple(keywords.values())
        return found

    # -- rules --

    def rule_type(self, node: yaml.Node, context: str) -> str:
        if not isinstance(node, yaml.MappingNode):
            self.fail(node, context, "rule must be a mapping with a type.")
        type_node = next((value for key, value in node.value if key.value == "type"), None)
        if type_node is None:
            self.fail(node, context, "rule needs a type.")
        return self.choice(type_node, context, "rule type", tuple(_RULE_KEYS))

    def rule(self, node: yaml.Node, context: str, max_points: int) -> Rule:
        """The rule in ``node``, whose best outcome must be ``max_points``."""
        rule_type = self.rule_type(node, context)
        required, optional = _RULE_KEYS[rule_type]
        values = self.mapping(node, context, required | {"type"}, optional)
        if rule_type == CapabilityRule.type:
            return self.capability_rule(values, context)
        if rule_type == PercentageBandsRule.type:
            bands = self.bands(values["bands"], context, max_points, percentage=True)
            return PercentageBandsRule(self.fact(values["numerator"], context, "numerator"),
                                       self.fact(values["denominator"], context, "denominator"), bands)
        if rule_type == CountBandsRule.type:
            bands = self.bands(values["bands"], context, max_points, percentage=False)
            return CountBandsRule(self.fact(values["fact"], context, "fact"), bands)
        if rule_type == LevelFromRatioRule.type:
            return LevelFromRatioRule(self.fact(values["numerator"], context, "numerator"),
                                      self.fact(values["denominator"], context, "denominator"),
                                      self.ratio_levels(values["levels"], context, max_points),
                                      self.optional_text(values, context, "unit"))
        if rule_type == RoomPresentRule.type:
            return RoomPresentRule(self.fact(values["fact"], context, "fact"))
        return EvidencePresentRule()

    def fact(self, node: yaml.Node, context: str, key: str) -> str:
        value = self.text(node, context, key)
        if value not in COUNT_FACTS:
            self.fail(node, context, f"{key}: unknown count fact '{value}' (known: {', '.join(COUNT_FACTS)}).")
        return value

    def capability_rule(self, values: dict[str, yaml.Node], context: str) -> CapabilityRule:
        capabilities = tuple(SCORING_CAPABILITIES)
        capability = self.choice(values["capability"], context, "capability", capabilities)
        together = self.choice(values["with"], context, "capability", capabilities) if "with" in values else None
        if together == capability:
            self.fail(values["with"], context, "with must name another capability.")
        requirement = None
        if "requires" in values:
            required = self.mapping(values["requires"], f"{context}: requires", {"fact", "min"})
            requirement = Requirement(self.fact(required["fact"], context, "requires"),
                                      self.whole(required["min"], context, "min", minimum=1))
        return CapabilityRule(capability, together, requirement)

    def bands(self, node: yaml.Node, context: str, max_points: int, percentage: bool) -> tuple[Band, ...]:
        """Bands with rising boundaries and rising points, the best giving ``max_points``."""
        bands: list[Band] = []
        for band_node in self.sequence(node, context, "bands"):
            values = self.mapping(band_node, context, {"points"}, {"from", "over"})
            threshold, inclusive = self.boundary(band_node, values, context, required=True)
            band = Band(threshold, inclusive, self.whole(values["points"], context, "points", minimum=1))
            if percentage and threshold > 100:
                self.fail(band_node, context, f"a percentage boundary must be at most 100, not {threshold}.")
            if bands and _order(band) <= _order(bands[-1]):
                self.fail(band_node, context, f"band boundaries must increase: {_boundary_text(band)} "
                                              f"comes after {_boundary_text(bands[-1])}.")
            if bands and band.points <= bands[-1].points:
                self.fail(values["points"], context, f"band points must increase: {band.points} "
                                                     f"comes after {bands[-1].points}.")
            bands.append(band)
        if bands[-1].points != max_points:
            self.fail(node, context, f"the best band gives {bands[-1].points} points, but max is {max_points}.")
        return tuple(bands)

    def ratio_levels(self, node: yaml.Node, context: str, max_points: int) -> tuple[RatioLevel, ...]:
        """Levels from the best ratio down: max_ratio rising (only the last may omit it to
        take any ratio), levels and points falling, the first giving ``max_points``."""
        levels: list[RatioLevel] = []
        entries = self.sequence(node, context, "levels")
        for index, entry in enumerate(entries):
            values = self.mapping(entry, context, {"level", "points"}, {"max_ratio"})
            max_ratio = self.number(values["max_ratio"], context, "max_ratio") if "max_ratio" in values else None
            if max_ratio is None and index < len(entries) - 1:
                self.fail(entry, context, "only the last level may leave out max_ratio.")
            level = RatioLevel(self.whole(values["level"], context, "level", minimum=1),
                               self.whole(values["points"], context, "points", minimum=1), max_ratio)
            if levels and max_ratio is not None and max_ratio <= levels[-1].max_ratio:
                self.fail(values["max_ratio"], context, f"level thresholds must increase: max_ratio {max_ratio} "
                                                        f"comes after {levels[-1].max_ratio}.")
            if levels and (level.level >= levels[-1].level or level.points >= levels[-1].points):
                self.fail(entry, context, "list levels from the best ratio down: levels and points must fall.")
            levels.append(level)
        if levels[0].points != max_points:
            self.fail(node, context, f"the best level gives {levels[0].points} points, but max is {max_points}.")
        return tuple(levels)


def _order(band: Band | LevelBand) -> tuple[Fraction, int]:
    """Sort key of a boundary: over N comes just after from N."""
    return exact(band.threshold), 0 if band.inclusive else 1


def _boundary_text(band: Band | LevelBand) -> str:
    return f"{'from' if band.inclusive else 'over'} {band.threshold}"


def _keyword_key(keyword: str) -> str:
    """``keyword``'s words without case, diacritics or punctuation: how keywords are
    compared (the same folding as app.search.fold, which this layer does not import)."""
    decomposed = unicodedata.normalize("NFD", keyword.replace("đ", "d").replace("Đ", "D"))
    plain = "".join(char for char in decomposed if not unicodedata.combining(char)).lower()
    return " ".join(re.findall(r"[^\W_]+", plain))


def _shown(node: yaml.Node) -> str:
    return f"'{node.value}'" if isinstance(node, yaml.ScalarNode) else "a list or mapping"
