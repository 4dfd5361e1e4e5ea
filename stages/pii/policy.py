"""What happens to a finding: a typed placeholder, a mask, a keyed pseudonym, or dropping the document.

Replacement is presidio-anonymizer's job (its operators, and its resolution of overlapping findings);
this module maps the config's policy per entity type onto its operators. The pseudonym is an HMAC of
the normalised value, keyed with a secret read from the environment, so one e-mail address becomes the
same pseudonym everywhere in the corpus while nobody without the key can reverse or test a guess.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Literal

Action = Literal["placeholder", "mask", "pseudonym", "drop"]
_NOT_ALPHANUMERIC = re.compile(r"[\W_]+")


def normalise(entity_type: str, value: str) -> str:
    """The form under which two writings of one value are the same (case, spaces, dashes)."""
    if entity_type == "EMAIL_ADDRESS":
        return value.strip().lower()
    if entity_type == "PHONE_NUMBER":
        return "".join(c for c in value if c.isdigit())
    return _NOT_ALPHANUMERIC.sub("", value).upper()


def pseudonym(secret: bytes, entity_type: str, value: str, length: int = 12) -> str:
    message = f"{entity_type}\x00{normalise(entity_type, value)}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:length]


def operators(
    policy: dict[str, Action],
    entity_types: list[str],
    placeholder: str,
    pseudonym_format: str,
    mask_char: str,
    secret: bytes | None,
) -> dict:
    """presidio-anonymizer OperatorConfigs for every type whose action rewrites text."""
    from presidio_anonymizer.entities import OperatorConfig

    configs = {}
    for entity_type in entity_types:
        action = policy.get(entity_type, policy["default"])
        if action == "placeholder":
            configs[entity_type] = OperatorConfig("replace", {"new_value": placeholder.format(type=entity_type)})
        elif action == "mask":
            configs[entity_type] = OperatorConfig(
                "mask", {"masking_char": mask_char, "chars_to_mask": 10_000, "from_end": False}
            )
        elif action == "pseudonym":
            assert secret is not None, "the options check that the secret is set"

            def keyed(value: str, entity_type: str = entity_type) -> str:
                return pseudonym_format.format(type=entity_type, pseudonym=pseudonym(secret, entity_type, value))

            configs[entity_type] = OperatorConfig("custom", {"lambda": keyed})
    return configs
