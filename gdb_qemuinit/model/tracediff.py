"""Two traces compared, as records: `analysis/diff` makes a TraceDiff, its
JSON is what `qemuinit diff --json` prints, and the renderers read it back
(`TraceDiff.of`, from the JSON too)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .records import JsonRecord, json_field, records_of

# The verdict of an edge one trace's documented path does not have.
UNDOCUMENTED = "undocumented"


@dataclass
class RunFacts(JsonRecord):
    """Which QEMU ran, how, and how it ended."""
    version: str | None
    argv: list[str] | None
    state: str


@dataclass
class EdgeChange(JsonRecord):
    """An edge whose verdict, or the frames it was seen through, changed."""
    caller: str = json_field(key="from")
    callee: str = json_field(key="to")
    cluster: str = ""
    a: str = ""
    b: str = ""
    via_a: list[str] = field(default_factory=list)
    via_b: list[str] = field(default_factory=list)


@dataclass
class ChainChange(JsonRecord):
    """A function both hit, reached through another chain (outermost first)."""
    function: str
    a: list[str]
    b: list[str]


@dataclass
class Throwaway(JsonRecord):
    """The functions hit on throwaway objects, each side (kept apart)."""
    a: list[str]
    b: list[str]


@dataclass
class ChardevDiff(JsonRecord):
    """One chardev's negotiation, A against B."""
    chardev_a: str | None
    chardev_b: str | None
    added: list[str]
    removed: list[str]
    renamed: list[str]
    replies: list[str]
    features: list[str]

    def differs(self) -> bool:
        return any((self.added, self.removed, self.renamed, self.replies, self.features))


@dataclass
class TraceDiff(JsonRecord):
    a: RunFacts = json_field(read=RunFacts.from_json)
    b: RunFacts = json_field(read=RunFacts.from_json)
    edges: list[EdgeChange] = json_field(default_factory=list, read=records_of(EdgeChange))
    chains: list[ChainChange] = json_field(default_factory=list,
                                           read=records_of(ChainChange))
    only_a: list[str] = field(default_factory=list)
    only_b: list[str] = field(default_factory=list)
    throwaway: Throwaway = json_field(default_factory=lambda: Throwaway([], []),
                                      read=Throwaway.from_json)
    # per chardev that differs; None when neither run negotiated
    negotiation: list[ChardevDiff] | None = json_field(default=None,
                                                      read=records_of(ChardevDiff))
