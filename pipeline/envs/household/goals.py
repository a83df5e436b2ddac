"""Goals: the six ALFWorld task types, their goal-line templates and a parser for those lines."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.envs.household import catalog

# Two phrasings per type, as ALFWorld's goal templates; {obj}/{recep}/{lamp} are kinds, no numbers.
TEMPLATES: dict[str, tuple[str, str]] = {
    "pick_and_place_simple": ("put a {obj} in {recep}.", "put some {obj} on {recep}."),
    "look_at_obj_in_light": (
        "look at {obj} under the {lamp}.",
        "examine the {obj} with the {lamp}.",
    ),
    "pick_clean_then_place_in_recep": (
        "put a clean {obj} in {recep}.",
        "clean some {obj} and put it in {recep}.",
    ),
    "pick_heat_then_place_in_recep": (
        "put a hot {obj} in {recep}.",
        "heat some {obj} and put it in {recep}.",
    ),
    "pick_cool_then_place_in_recep": (
        "put a cool {obj} in {recep}.",
        "cool some {obj} and put it in {recep}.",
    ),
    "pick_two_obj_and_place": (
        "put two {obj} in {recep}.",
        "find two {obj} and put them in {recep}.",
    ),
}


@dataclass(frozen=True)
class Goal:
    """What must hold for success; `recep` for placing tasks, `lamp` for the light task."""

    task_type: str
    obj: str
    recep: str | None = None
    lamp: str | None = None
    variant: int = 0  # which of the two phrasings

    @property
    def transform(self) -> str | None:
        """The verb ("clean", "heat", "cool") this goal needs, if any."""
        pair = catalog.TRANSFORM.get(self.task_type)
        return pair[0] if pair else None

    def text(self) -> str:
        template = TEMPLATES[self.task_type][self.variant]
        return template.format(obj=self.obj, recep=self.recep, lamp=self.lamp)


def parse_goal(text: str) -> Goal | None:
    """Recover the goal from its line (the solver reads only what an agent reads)."""
    line = text.strip()
    for task_type, variants in TEMPLATES.items():
        for variant, template in enumerate(variants):
            fields = _match(template, line)
            if fields is not None:
                return Goal(
                    task_type,
                    fields["obj"],
                    fields.get("recep"),
                    fields.get("lamp"),
                    variant,
                )
    return None


def _match(template: str, line: str) -> dict[str, str] | None:
    # Templates have single-word slots separated by literal text, so a left-to-right scan suffices.
    fields: dict[str, str] = {}
    rest = line
    pieces = template.replace("}", "{").split("{")
    for i, piece in enumerate(pieces):
        if i % 2 == 0:
            if not rest.startswith(piece):
                return None
            rest = rest[len(piece) :]
        else:
            nxt = pieces[i + 1]
            end = rest.find(nxt) if nxt else len(rest)
            if end <= 0 or " " in rest[:end]:
                return None
            fields[piece], rest = rest[:end], rest[end:]
    return fields if rest == "" else None
