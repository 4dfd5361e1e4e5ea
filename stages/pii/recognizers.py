"""Which presidio recognizer finds each entity type, and the secret formats presidio has no recognizer for.

Every type is served by presidio's own recognizer (its patterns, context words and checksums: Luhn for
cards, mod-97 for IBANs, the national IDs' check digits). Only credentials in URLs and API keys are
defined here, as presidio `PatternRecognizer`s, because presidio ships no recognizer for them.
"""

from __future__ import annotations

import re

from stages.pii.engine import LANGUAGE, without_deep_learning_imports

with without_deep_learning_imports():
    from presidio_analyzer import Pattern, PatternRecognizer
    from presidio_analyzer.predefined_recognizers import (
        AuAbnRecognizer,
        AuAcnRecognizer,
        AuMedicareRecognizer,
        AuTfnRecognizer,
        CaSinRecognizer,
        CreditCardRecognizer,
        EmailRecognizer,
        EsNieRecognizer,
        EsNifRecognizer,
        FiPersonalIdentityCodeRecognizer,
        IbanRecognizer,
        InAadhaarRecognizer,
        IpRecognizer,
        ItFiscalCodeRecognizer,
        KrRrnRecognizer,
        NhsRecognizer,
        PhoneRecognizer,
        PlPeselRecognizer,
        SgFinRecognizer,
        UkNinoRecognizer,
        UsItinRecognizer,
        UsPassportRecognizer,
        UsSsnRecognizer,
    )


NATIONAL_ID_RECOGNIZERS = {
    "US_SSN": UsSsnRecognizer,
    "US_ITIN": UsItinRecognizer,
    "US_PASSPORT": UsPassportRecognizer,
    "UK_NHS": NhsRecognizer,
    "UK_NINO": UkNinoRecognizer,
    "ES_NIF": EsNifRecognizer,
    "ES_NIE": EsNieRecognizer,
    "IT_FISCAL_CODE": ItFiscalCodeRecognizer,
    "PL_PESEL": PlPeselRecognizer,
    "FI_PERSONAL_IDENTITY_CODE": FiPersonalIdentityCodeRecognizer,
    "SG_NRIC_FIN": SgFinRecognizer,
    "AU_TFN": AuTfnRecognizer,
    "AU_ABN": AuAbnRecognizer,
    "AU_ACN": AuAcnRecognizer,
    "AU_MEDICARE": AuMedicareRecognizer,
    "IN_AADHAAR": InAadhaarRecognizer,
    "KR_RRN": KrRrnRecognizer,
    "CA_SIN": CaSinRecognizer,
}
PATTERN_RECOGNIZERS = {
    "EMAIL_ADDRESS": EmailRecognizer,
    "CREDIT_CARD": CreditCardRecognizer,
    "IBAN_CODE": IbanRecognizer,
    "IP_ADDRESS": IpRecognizer,
    **NATIONAL_ID_RECOGNIZERS,
}

# Credentials: `scheme://user:password@host` and the token formats the issuers document.
SECRET_PATTERNS = {
    "URL_CREDENTIALS": [
        Pattern("user:password in a URL", r"\b[a-z][a-z0-9+.\-]{1,15}://[^\s/:@]{1,128}:[^\s/@]{1,128}@", 0.9)
    ],
    "API_KEY": [
        Pattern("AWS access key id", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b", 0.9),
        Pattern("GitHub token", r"\bgh[pousr]_[A-Za-z0-9]{36,255}\b", 0.9),
        Pattern("GitHub fine-grained token", r"\bgithub_pat_[A-Za-z0-9_]{82}\b", 0.9),
        Pattern("Slack token", r"\bxox[abposr]-[A-Za-z0-9-]{10,72}\b", 0.9),
        Pattern("Google API key", r"\bAIza[0-9A-Za-z_\-]{35}\b", 0.9),
        Pattern("Stripe secret key", r"\b[rs]k_live_[0-9A-Za-z]{24,99}\b", 0.9),
        Pattern("OpenAI/Anthropic-style key", r"\bsk-(?:ant-|proj-)?[A-Za-z0-9_\-]{32,}\b", 0.8),
        Pattern("private key block", r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----", 0.9),
    ],
}


def recognizers_for(entities: list[str], phone_regions: list[str]) -> list:
    """One presidio recognizer per requested type (NER types come with the spaCy model, not from here)."""
    recognizers = []
    for entity in entities:
        if entity == "PHONE_NUMBER":
            recognizers.append(PhoneRecognizer(supported_language=LANGUAGE, supported_regions=tuple(phone_regions)))
        elif entity == "IBAN_CODE":
            # presidio's default flags are case-sensitive: `gb82 west 1234 ...` would pass untouched.
            # Its validation accepts a lowercase IBAN whose upper case is valid, at score 0.5.
            recognizers.append(
                IbanRecognizer(supported_language=LANGUAGE, regex_flags=re.DOTALL | re.MULTILINE | re.IGNORECASE)
            )
        elif entity == "PL_PESEL":
            # presidio's PESEL pattern has no boundaries: it matched 11 digits inside card and phone
            # numbers and cut them (`|||PL_PESEL|||58809939`). Here a PESEL stands alone.
            standard = PlPeselRecognizer(supported_language=LANGUAGE)
            alone = [Pattern(p.name, f"(?<![0-9]){p.regex}(?![0-9])", p.score) for p in standard.patterns]
            recognizers.append(PlPeselRecognizer(supported_language=LANGUAGE, patterns=alone))
        elif entity in PATTERN_RECOGNIZERS:
            recognizers.append(PATTERN_RECOGNIZERS[entity](supported_language=LANGUAGE))
        elif entity in SECRET_PATTERNS:
            recognizers.append(
                PatternRecognizer(
                    supported_entity=entity,
                    patterns=SECRET_PATTERNS[entity],
                    supported_language=LANGUAGE,
                    name=f"{entity.title().replace('_', '')}Recognizer",
                )
            )
    return recognizers
