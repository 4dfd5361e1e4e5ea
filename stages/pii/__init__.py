"""Personal-data scrubbing for GDPR/CCPA, built on presidio.

`engine` builds presidio offline; `recognizers` says which recognizer finds each type; `prefilter` gives
presidio's findings while analyzing only where an entity can be; `policy` maps findings onto
presidio-anonymizer's operators; `erasure` honours erasure requests; `steps` is the pipeline step with
its audit trail; `report` the report's section.
"""

from stages.pii.options import PiiOptions

__all__ = ["PiiOptions"]
