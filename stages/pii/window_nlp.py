"""The NLP engine the windows are analyzed with: presidio's spaCy engine, handing presidio token strings."""

from __future__ import annotations

from presidio_analyzer.nlp_engine import NlpArtifacts, SpacyNlpEngine

from stages.pii.engine import LANGUAGE, LOWERCASE_LEMMAS


class TokenStringsNlpEngine(SpacyNlpEngine):
    """presidio's spaCy engine on the blank pipeline, giving presidio each token as a plain string.

    Reads the text; produces the artifacts presidio's own engine produces (tokens, their offsets, lemmas
    equal to the lower-cased words as LOWERCASE_LEMMAS sets them, no entities), with one difference that
    changes no result: the tokens are strings, not spaCy Tokens. presidio's context enhancer finds each
    finding's token by walking the tokens from the start, reading only their lengths; walking a spaCy Doc
    builds a Token object per step, so a table of figures with many findings cost findings x tokens
    object creations, a third of the windows' analysis.
    """

    def __init__(self, nlp):
        super().__init__(models=[{"lang_code": LANGUAGE, "model_name": "blank"}])
        self.nlp = {LANGUAGE: nlp}
        # Keywords of the window's document outside it that count as context inside it (see
        # `WindowedAnalyzer._colon_parts`); presidio only asks whether a word is among the keywords.
        self.document_keywords: set[str] = set()

    @classmethod
    def replacing(cls, nlp_engine):
        """This engine on `nlp_engine`'s blank pipeline; `nlp_engine` itself for any other pipeline."""
        nlp = (getattr(nlp_engine, "nlp", None) or {}).get(LANGUAGE)
        if type(nlp_engine) is not SpacyNlpEngine or nlp is None or nlp.pipe_names != [LOWERCASE_LEMMAS]:
            return nlp_engine
        return cls(nlp)

    def process_text(self, text: str, language: str) -> NlpArtifacts:
        doc = self.nlp[language].make_doc(text)  # the tokenizer; the pipeline's one component sets lemmas
        tokens, offsets, lemmas = [], [], []
        for token in doc:
            tokens.append(token.text)
            offsets.append(token.idx)
            lemmas.append(token.lower_)
        artifacts = NlpArtifacts(
            entities=[], tokens=tokens, tokens_indices=offsets, lemmas=lemmas, nlp_engine=self, language=language
        )
        artifacts.keywords.extend(self.document_keywords)
        return artifacts
