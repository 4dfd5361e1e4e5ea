"""The `html` stage's options and steps."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from stages.base import StageContext, StageOptions
from stages.html.boilerplate import RULES, RemoveBoilerplateLines
from stages.html.extract import ExtractMainContent

Rule = Literal["notices", "javascript", "lorem_ipsum", "menu_runs", "repeated_lines"]
assert set(Rule.__args__) == set(RULES)


class BoilerplateSettings(BaseModel):
    """Line rules applied to the extracted text (see stages/html/boilerplate.py)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    # menu_runs is off by default: extractors already drop most menus, and on trafilatura's labelled
    # pages it removed more headings and list items than menus (F1 -0.005 with trafilatura, -0.0025 with
    # resiliparse).
    rules: list[Rule] = Field(
        default_factory=lambda: [r for r in RULES if r != "menu_runs"], description="the rules to apply"
    )
    menu_run: int = Field(3, ge=2, description="menu_runs: this many short lines in a row are a menu")
    menu_words: int = Field(4, ge=1, description="menu_runs: a menu item has at most this many words")


class HtmlOptions(StageOptions):
    """`html`: extract each page's main content, then remove boilerplate lines."""

    stage: Literal["html"] = "html"
    extractor: Literal["trafilatura", "resiliparse"] = Field(
        "trafilatura", description="trafilatura: quality; resiliparse: about 6x faster, F1 0.025 lower"
    )
    max_bytes: int = Field(2_000_000, gt=0, description="larger pages are quarantined (PageTooLarge)")
    time_limit_s: float = Field(10.0, ge=0, description="slower extractions are quarantined (PageTimeout); 0: none")
    boilerplate: BoilerplateSettings | None = Field(
        default_factory=BoilerplateSettings, description="line rules after extraction; null: none"
    )

    def build(self, context: StageContext) -> list:
        steps = [ExtractMainContent(self.extractor, self.max_bytes, self.time_limit_s)]
        if self.boilerplate is not None:
            rules = tuple(self.boilerplate.rules)
            steps.append(RemoveBoilerplateLines(rules, self.boilerplate.menu_run, self.boilerplate.menu_words))
        return steps
