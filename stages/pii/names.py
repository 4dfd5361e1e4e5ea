"""Names, places and the other NER types: presidio's spaCy recognizer, a batch of documents at a time.

presidio's `AnalyzerEngine.analyze` runs the spaCy pipeline over one document per call. Here the
pipeline holds only what finds entities (see `engine.load_spacy`) and reads a whole batch in one
`nlp.pipe` through presidio's public `SpacyNlpEngine.process_batch`; each document's artifacts then go
to presidio's own `SpacyRecognizer`, and its findings through presidio's own score filter and
deduplication. The result equals `analyze` over the whole document with the same pipeline (tests
assert it on the sample, labelled sentences and web text).

Why whole documents and not only the stretches that can hold a name: the NER reads context, further
than its network's reach of four words either side (its decisions go left to right). Measured on 358
English web pages (7,734 names and places): NER over windows of 16 words around each capitalised word
differed from NER over the page in 28 findings inside the windows, windows of 32 words in 5; and windows
of 16 words already cover 71% of the text (capitalised words are everywhere in navigation, titles and
lists), so they would save little. Outside such windows it also finds lower-case "names" (mostly in
languages other than English, where the English model guesses).
"""

from __future__ import annotations

from presidio_analyzer import EntityRecognizer, RecognizerResult

from stages.pii.engine import LANGUAGE


class NamedEntities:
    """Reads texts; gives each text's findings of the NER types among `entities` at `score_threshold`,
    as presidio reports them (PERSON, LOCATION, ...: presidio's label mapping, its default score)."""

    def __init__(self, nlp_engine, recognizer, entities: list[str], score_threshold: float):
        self.nlp_engine = nlp_engine
        self.recognizer = recognizer
        self.entities = [e for e in entities if e in recognizer.supported_entities]
        self.score_threshold = score_threshold

    def find_many(self, texts: list[str]) -> list[list[RecognizerResult]]:
        found = []
        for text, artifacts in self.nlp_engine.process_batch(texts, LANGUAGE, batch_size=len(texts) or 1):
            results = self.recognizer.analyze(text, self.entities, artifacts)
            results = [r for r in results if r.score >= self.score_threshold]
            found.append(EntityRecognizer.remove_duplicates(results))
        return found
