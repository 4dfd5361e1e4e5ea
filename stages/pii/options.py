"""The `pii` stage's options, as the YAML config writes them."""

from __future__ import annotations

import os
from typing import Literal

from pydantic import Field, model_validator

from stages.base import ReportContext, ReportSection, StageContext, StageOptions
from stages.pii.entities import (
    DEFAULT_ENTITIES,
    DEFAULT_MODEL,
    DEFAULT_PHONE_REGIONS,
    NER_ENTITIES,
    PATTERN_DEFAULT_ENTITIES,
    SECRET_ENTITIES,
    supported_entities,
)
from stages.pii.policy import Action


class PiiOptions(StageOptions):
    """`pii`: find personal data with presidio and replace, mask, pseudonymise or drop; honour erasure requests."""

    stage: Literal["pii"] = "pii"
    entities: list[str] = Field(
        default_factory=lambda: list(DEFAULT_ENTITIES),
        description="entity types to find: presidio's names (PERSON, LOCATION, EMAIL_ADDRESS, PHONE_NUMBER, "
        "CREDIT_CARD, IBAN_CODE, IP_ADDRESS, US_SSN, UK_NHS, ...); the NER types (PERSON, LOCATION, NRP, "
        "ORGANIZATION, DATE_TIME) need `model`; default: names, places and every pattern type",
    )
    secrets: bool = Field(False, description="also credentials in URLs and API keys (AWS, GitHub, Slack, Google, ...)")
    score_threshold: float = Field(0.4, ge=0, le=1, description="presidio score a finding needs (0.4: phone numbers)")
    phone_regions: list[str] = Field(
        default_factory=lambda: list(DEFAULT_PHONE_REGIONS),
        description="regions whose national phone formats are recognised; +<country code> numbers always are",
    )
    keep_private_ips: bool = Field(True, description="leave private, loopback and reserved IP addresses in place")
    policy: dict[str, Action] = Field(
        default_factory=lambda: {"default": "placeholder"},
        description="action per entity type, and `default`: placeholder | mask | pseudonym | drop",
    )
    placeholder: str = Field("|||{type}|||", description="replacement text; {type} is the entity type")
    pseudonym_format: str = Field("|||{type}:{pseudonym}|||", description="{pseudonym}: keyed HMAC of the value")
    mask_char: str = Field("*", min_length=1, max_length=1)
    secret_env: str = Field(
        "CORPUS_PREP_PII_SECRET", description="environment variable holding the pseudonym key (never in the config)"
    )
    max_findings: int | None = Field(
        5,
        ge=0,
        description="drop a document with more findings than this, names and places (NER types) not counted "
        "(Dolma's rule); null: never",
    )
    erasure: str | None = Field(None, description="file of erasure requests (JSON Lines or one identifier per line)")
    model: str | None = Field(
        DEFAULT_MODEL,
        description="spaCy model (installed package or folder) whose NER finds PERSON, LOCATION, ...; "
        "null: patterns only (then `entities` defaults to the pattern types)",
    )
    findings_log: bool = Field(True, description="write the per-document findings log (types and offsets, no values)")

    @model_validator(mode="before")
    @classmethod
    def _patterns_only_without_a_model(cls, data):
        if isinstance(data, dict) and "model" in data and data["model"] is None and "entities" not in data:
            data = {**data, "entities": list(PATTERN_DEFAULT_ENTITIES)}
        return data

    @model_validator(mode="after")
    def _check(self) -> PiiOptions:
        known = set(supported_entities()) | (set(NER_ENTITIES) if self.model else set())
        for entity in self.entities:
            if entity not in known:
                hint = (
                    " (a NER type: `model` is null; name a spaCy model there, or drop the type)"
                    if entity in NER_ENTITIES
                    else ""
                )
                raise ValueError(f"unknown entity type {entity!r}{hint}; known: {', '.join(sorted(known))}")
        if self.model and not set(self.entities) & set(NER_ENTITIES):
            # spaCy would run over every document and find nothing that is kept
            raise ValueError(
                f"`model` is set but `entities` names no NER type: add the ones to find, e.g. PERSON and "
                f"LOCATION (NER types: {', '.join(NER_ENTITIES)}), or set `model: null` for patterns only"
            )
        if "default" not in self.policy:
            raise ValueError("policy needs a `default` action (placeholder, mask, pseudonym or drop)")
        for entity in self.policy:
            if entity != "default" and entity not in self.entity_types():
                raise ValueError(f"policy names {entity!r}, which is not among the entities found")
        if "{type}" not in self.placeholder:
            raise ValueError("placeholder must contain {type}")
        if "{pseudonym}" not in self.pseudonym_format:
            raise ValueError("pseudonym_format must contain {pseudonym}")
        return self

    def entity_types(self) -> list[str]:
        return list(dict.fromkeys([*self.entities, *(SECRET_ENTITIES if self.secrets else ())]))

    def action_for(self, entity_type: str) -> Action:
        return self.policy.get(entity_type, self.policy["default"])

    def scrubs_names(self) -> bool:
        return "PERSON" in self.entity_types()

    @classmethod
    def report_section(cls, context: ReportContext) -> ReportSection | None:
        from stages.pii.report import personal_data_section

        return personal_data_section(context)

    @staticmethod
    def import_libraries() -> None:
        from stages.pii.engine import without_deep_learning_imports

        with without_deep_learning_imports():
            import presidio_anonymizer  # noqa: F401

            import stages.pii.prefilter  # noqa: F401
            import stages.pii.recognizers  # noqa: F401
            import stages.pii.steps  # noqa: F401
        from stages.pii.engine import load_spacy

        load_spacy(DEFAULT_MODEL)  # 1.5 s once, not per task: workers forked after share it

    def build(self, context: StageContext) -> list:
        from stages.pii.erasure import ErasureList
        from stages.pii.steps import ScrubPersonalData

        secret = None
        if any(self.action_for(t) == "pseudonym" for t in self.entity_types()):
            value = os.environ.get(self.secret_env, "")
            if len(value) < 16:
                raise ValueError(
                    f"the pseudonym policy needs a secret key of at least 16 characters in the environment variable "
                    f"{self.secret_env} (for example: export {self.secret_env}=$(openssl rand -hex 32)); keep it "
                    "out of the config so the pseudonyms cannot be reversed by whoever reads it"
                )
            secret = value.encode("utf-8")
        erasure = ErasureList.load(self.erasure) if self.erasure else None
        return [ScrubPersonalData(self, context.work_folder, secret, erasure)]
