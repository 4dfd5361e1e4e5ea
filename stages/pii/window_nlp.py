"""What presidio reads in a window besides the text: NLP artifacts, and the context scoring over them.

Both are presidio's own, with shortcuts that change no result, because windows are many and small and
presidio's fixed costs per call and per finding dominate there.
"""

from __future__ import annotations

import bisect

from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer
from presidio_analyzer.nlp_engine import NlpArtifacts, SpacyNlpEngine

from stages.pii.engine import LANGUAGE, LOWERCASE_LEMMAS


class TokenStringsNlpEngine(SpacyNlpEngine):
    """presidio's spaCy engine on the blank pipeline, giving presidio each token as a plain string.

    Reads the text; produces the artifacts presidio's own engine produces (tokens, their offsets, lemmas
    equal to the lower-cased words as LOWERCASE_LEMMAS sets them, no entities), with differences that
    change no result:
    - the tokens are strings, not spaCy Tokens: presidio's context enhancer finds each finding's token by
      walking the tokens from the start, reading only their lengths, and walking a spaCy Doc builds a
      Token object per step (a table of figures with many findings cost findings x tokens objects);
    - the tokens know where each ends and the keywords answer `in` from a set (`WindowContextEnhancer`);
    - each lemma's keywords are presidio's filter applied to it alone, remembered (the filter works
      lemma by lemma).
    """

    def __init__(self, nlp):
        super().__init__(models=[{"lang_code": LANGUAGE, "model_name": "blank"}])
        self.nlp = {LANGUAGE: nlp}
        # Keywords of the window's document outside it that count as context inside it (see
        # `WindowedAnalyzer._colon_parts`); presidio only asks whether a word is among the keywords.
        self.document_keywords: set[str] = set()
        self._keywords_of_lemma: dict[str, list[str]] = {}

    @classmethod
    def replacing(cls, nlp_engine):
        """This engine on `nlp_engine`'s pipeline if its lemmas are the lower-cased words (`load_spacy`'s
        pipelines: this engine reads only the tokenizer); `nlp_engine` itself for any other pipeline."""
        nlp = (getattr(nlp_engine, "nlp", None) or {}).get(LANGUAGE)
        if type(nlp_engine) is not SpacyNlpEngine or nlp is None or nlp.pipe_names[-1:] != [LOWERCASE_LEMMAS]:
            return nlp_engine
        return cls(nlp)

    def process_text(self, text: str, language: str) -> NlpArtifacts:
        from spacy.attrs import IDX, LENGTH

        doc = self.nlp[language].make_doc(text)  # the tokenizer; the pipeline's one component sets lemmas
        # Where each token starts and how long it is, in one call: a Token object per token costs more.
        # A token's text is its stretch of the text, and its lemma that lower-cased (LOWERCASE_LEMMAS).
        offsets, lengths = doc.to_array([IDX, LENGTH]).T.tolist() if len(doc) else ([], [])
        tokens = TokenStrings(text[offset : offset + length] for offset, length in zip(offsets, lengths, strict=True))
        tokens.ends = [offset + length for offset, length in zip(offsets, lengths, strict=True)]
        lemmas = [token.lower() for token in tokens]
        keywords = [word for lemma in lemmas for word in self._keywords(lemma, language)]
        keywords += self.document_keywords
        artifacts = NlpArtifacts(
            entities=[], tokens=tokens, tokens_indices=offsets, lemmas=lemmas, nlp_engine=None, language=language
        )
        artifacts.nlp_engine = self
        artifacts.keywords = Keywords(keywords)
        return artifacts

    def _keywords(self, lemma: str, language: str) -> list[str]:
        found = self._keywords_of_lemma.get(lemma)
        if found is None:
            found = NlpArtifacts.set_keywords(self, [lemma], language)
            if len(self._keywords_of_lemma) > 500_000:
                self._keywords_of_lemma.clear()
            self._keywords_of_lemma[lemma] = found
        return found


class TokenStrings(list):
    """Token strings that also know where each token ends (`ends`), for a binary search."""

    ends: list[int]


class Keywords(list):
    """presidio's keyword list, answering `in` from a set (presidio asks it for every word it walks)."""

    def __init__(self, words):
        super().__init__(words)
        self._set = frozenset(self)

    def __contains__(self, word) -> bool:
        return word in self._set


class WindowContextEnhancer(LemmaContextAwareEnhancer):
    """presidio's lemma context enhancer, with two of its costs per finding cut:

    - it finds a finding's token by walking the tokens from the first (findings x tokens steps in a
      table of figures); its rule, the first token that starts at the finding or ends after its start,
      is the first token ending after the start, since tokens are non-empty and in order: a binary
      search over `TokenStrings.ends`;
    - it deep-copies the findings before raising scores, so that the caller's stay as they were; the
      analyzer's findings are its own, made for this call and dropped after it (`_OwnFindings`).
    """

    def enhance_using_context(self, text, raw_results, nlp_artifacts, recognizers, context=None):
        return super().enhance_using_context(text, _OwnFindings(raw_results), nlp_artifacts, recognizers, context)

    @classmethod
    def like(cls, enhancer: LemmaContextAwareEnhancer) -> LemmaContextAwareEnhancer:
        """This enhancer with `enhancer`'s settings; `enhancer` itself if it is of another kind."""
        if type(enhancer) is not LemmaContextAwareEnhancer:
            return enhancer
        twin = cls.__new__(cls)
        twin.__dict__.update(enhancer.__dict__)
        return twin

    @staticmethod
    def _find_index_of_match_token(word, start, tokens, tokens_indices):
        ends = getattr(tokens, "ends", None)
        if ends is not None:
            index = bisect.bisect_right(ends, start)
            if index < len(ends):
                return index
        return LemmaContextAwareEnhancer._find_index_of_match_token(word, start, tokens, tokens_indices)


class _OwnFindings(list):
    """Findings no one else holds: `copy.deepcopy` of them is a new list of the same findings."""

    def __deepcopy__(self, memo):
        return list(self)
