"""presidio's AnalyzerEngine, built offline: no spaCy model download, no public-suffix-list fetch.

presidio's default engine downloads `en_core_web_lg` at start-up, and its e-mail recognizer asks
tldextract, which fetches the public suffix list on first use. Here the NLP engine is a blank spaCy
pipeline (tokenizer only: enough for every pattern recognizer and for context words) unless the user
names a spaCy model, as an installed package or a folder, which adds NER types such as PERSON; and
tldextract reads the snapshot it ships with.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from stages.pii.entities import NER_ENTITIES

LANGUAGE = "en"


class ModelNotFound(ValueError):
    """A spaCy model that is neither an installed package nor a folder; nothing is downloaded."""


@contextmanager
def without_deep_learning_imports():
    """Import presidio without torch and transformers (installed here for streaming): presidio imports
    them only for its Hugging Face engines, which this stage never uses, and they cost seconds per worker.
    Modules imported inside see them as missing; anything imported afterwards gets them as usual."""
    blocked = [name for name in ("torch", "transformers") if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # makes `import name` raise ImportError, which presidio handles
    try:
        yield
    finally:
        for name in blocked:
            if sys.modules.get(name, ...) is None:
                del sys.modules[name]


@cache
def use_bundled_public_suffix_list() -> None:
    """Point tldextract's module-level extractor at its bundled snapshot, so nothing goes online."""
    import tldextract
    import tldextract.tldextract as extractor_module

    extractor_module.TLD_EXTRACTOR = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


LOWERCASE_LEMMAS = "corpus_prep_lowercase_lemmas"


@cache
def _register_lowercase_lemmas() -> None:
    from spacy.language import Language

    @Language.component(LOWERCASE_LEMMAS)
    def lowercase_lemmas(doc):
        for token in doc:
            token.lemma_ = token.lower_
        return doc


def load_spacy(model: str | None):
    """A blank English pipeline, or the named model loaded from an installed package or a folder.

    presidio raises a finding's score when a context word ("phone", "iban", "ssn") precedes it, comparing
    lemmas; a blank pipeline has none, so it gets the lower-cased word as its lemma.

    The blank pipeline's vocabulary computes only the word attributes anything here reads (presidio: stop
    word, punctuation; the lemmas: lower case; spaCy itself: the language). spaCy computes every attribute
    it knows for each word it meets the first time, and web text brings new words (numbers, names, codes)
    on every page: the other 19 cost two thirds of a new word's price, and nothing reads them.
    """
    import spacy
    from spacy.attrs import IS_PUNCT, IS_STOP, LANG, LOWER

    if model is None:
        _register_lowercase_lemmas()
        nlp = spacy.blank(LANGUAGE)
        nlp.add_pipe(LOWERCASE_LEMMAS)
        # not documented API: spaCy is pinned to 3.8 in pyproject.toml and the findings digest test guards it
        getters = nlp.vocab.lex_attr_getters
        nlp.vocab.lex_attr_getters = {attr: getters[attr] for attr in (IS_PUNCT, IS_STOP, LANG, LOWER)}
        return nlp
    if not (spacy.util.is_package(model) or Path(model).is_dir()):
        raise ModelNotFound(
            f"spaCy model {model!r} is neither an installed package nor a folder. Install it "
            "(pip install <the model's wheel>) or give the path of a saved pipeline "
            "(nlp.to_disk(path)); nothing is downloaded at run time."
        )
    return spacy.load(model)


def build_analyzer(recognizers: list, model: str | None = None):
    """An AnalyzerEngine with exactly `recognizers` (plus spaCy NER when a model is named)."""
    with without_deep_learning_imports():
        import presidio_anonymizer  # noqa: F401  (the step's anonymizer: import it unburdened too)
        from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NerModelConfiguration, NlpEngineProvider, SpacyNlpEngine
    from presidio_analyzer.predefined_recognizers import SpacyRecognizer

    use_bundled_public_suffix_list()
    ner_configuration = None
    if model is not None:
        # The label mapping presidio's default engine uses (its conf/default.yaml: FAC and GPE are
        # LOCATION, ORG ignored, ...); SpacyNlpEngine built directly gets a shorter one without FAC.
        # NlpEngineProvider() only reads that file here; it loads no model until create_engine().
        defaults = NlpEngineProvider().nlp_configuration["ner_model_configuration"]
        ner_configuration = NerModelConfiguration.from_dict(defaults)
    nlp_engine = SpacyNlpEngine(
        models=[{"lang_code": LANGUAGE, "model_name": model or "blank"}], ner_model_configuration=ner_configuration
    )
    nlp_engine.nlp = {LANGUAGE: load_spacy(model)}  # set before AnalyzerEngine would call load() and download
    registry = RecognizerRegistry(recognizers=list(recognizers), supported_languages=[LANGUAGE])
    if model is not None:
        registry.add_recognizer(SpacyRecognizer(supported_language=LANGUAGE, supported_entities=list(NER_ENTITIES)))
    return AnalyzerEngine(registry=registry, nlp_engine=nlp_engine, supported_languages=[LANGUAGE])
