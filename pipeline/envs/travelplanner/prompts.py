"""TravelPlanner's wording: the information agent's instructions, the planner's, memory roles'.

Written after the published tool descriptions and planner instructions, in our own words.
"""

from __future__ import annotations

from pipeline.envs.travelplanner.tools import TOOL_SIGNATURES

_TOOL_EXAMPLES = {
    "FlightSearch": "FlightSearch[Ashford, Millbrook, 2022-03-08]",
    "GoogleDistanceMatrix": "GoogleDistanceMatrix[Ashford, Millbrook, self-driving]",
    "AccommodationSearch": "AccommodationSearch[Millbrook]",
    "RestaurantSearch": "RestaurantSearch[Millbrook]",
    "AttractionSearch": "AttractionSearch[Millbrook]",
    "CitySearch": "CitySearch[Texas]",
    "NotebookWrite": "NotebookWrite[Flights from Ashford to Millbrook on 2022-03-08]",
    "Planner": "Planner[Plan a 3-day trip from Ashford to Millbrook for one person]",
}


def tool_list() -> str:
    lines = []
    for i, (name, (params, description)) in enumerate(TOOL_SIGNATURES.items(), 1):
        lines.append(f"({i}) {name}[{', '.join(params)}]: {description}")
        lines.append(f"    Example: {_TOOL_EXAMPLES[name]}")
    return "\n".join(lines)


GATHER_SYSTEM = f"""You collect the information a travel plan needs, then hand it to the Planner.
Search transportation, accommodations, restaurants and attractions with the tools below. After each
search that you want to keep, call NotebookWrite: only what is in the Notebook reaches the Planner.
When everything needed is in the Notebook, call Planner with the user's query.
Tools (one call per turn, no nesting):
{tool_list()}

Answer in this format and nothing else:
Thought: <your reasoning>
Action: <one tool call, e.g. AccommodationSearch[Millbrook]>
"""

PLANNER_RULES = """You are a careful travel planner.
From the given information and the query, write a detailed day-by-day plan with concrete flight
numbers, restaurant names and accommodation names. Use only what the given information contains,
keep within the budget and the query's requirements, and keep to common sense: no restaurant or
attraction twice, a stay long enough for its minimum nights, transport that does not mix self-
driving with flights or taxis, a route that starts and ends at the origin. Write '-' where
nothing is needed (for example after returning home). On a day that moves between cities write
the Current City as 'from A to B'. Follow the example's format: every day has Current City,
Transportation, Breakfast, Attraction, Lunch, Dinner, Accommodation; places are written 'Name,
City'; attractions are separated by ';'."""

SOLE_SYSTEM = f"""{PLANNER_RULES}

Answer with the plan only, starting with 'Day 1:'.
"""


def planner_message(information: str, query: str) -> str:
    """What the Planner works from: the gathered (or given) information and the query."""
    return f"Given information:\n{information}\n\nQuery: {query}\nTravel Plan:"


def planner_observation(information: str, query: str) -> str:
    """Planner[Query]'s answer in two-stage mode: the brief; the next answer is the plan."""
    return (
        f"{PLANNER_RULES}\n\nNow write the plan as your next answer, starting with 'Day 1:'.\n\n"
        f"{planner_message(information, query)}"
    )


SCRIPT_SYSTEM = """You write procedural memory for an agent.
Given a travel-planning query and a successful trajectory (tool calls and the delivered plan),
write a short script of the critical steps that would solve similar queries: which searches to
run and note, and which checks keep a plan valid (budget, house rules, room type, cuisines,
transportation, minimum nights, no repeats, a closed route). Name kinds of things, not this
query's cities or names.
Answer with numbered lines only."""

ADJUST_SYSTEM = """You revise procedural memory for an agent.
A procedure was retrieved for a travel-planning query and the delivered plan failed constraints
while following it. Given the query, the procedure and the failed trajectory, write a corrected
script: add missing searches or checks, replace wrong steps, remove misleading ones. Name kinds
of things, not this query's cities or names.
Answer with numbered lines only."""

KEYWORDS_SYSTEM = """You extract retrieval keywords from a task.
Give the words that say what kind of trip it is and what it requires (length, number of cities,
group, budget, house rule, room type, cuisine, transportation), as a comma-separated list of 2
to 6
lowercase keywords. Answer with the list only."""

FORMAT_HINT = (
    "No feedback from the environment due to the null action. Answer with 'Thought: ...' then "
    "'Action: Tool[arguments]', or write the plan starting with 'Day 1:'."
)
