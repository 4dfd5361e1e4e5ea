"""Prose written by a tiny grammar over hand-made word lists, so the sample corpus copies nobody's text.

Sentences draw each word independently, so two unrelated articles share almost no word 5-grams:
near-duplicate detection on the sample then finds exactly what the generator planted.
"""

from __future__ import annotations

import random

LEXICONS: dict[str, dict[str, list[str]]] = {
    "en": {
        "det": ["the", "a", "every", "this", "that", "one", "another", "our"],
        "adj": (
            "quiet narrow ancient bright modest rapid careful hidden local northern southern coastal "
            "rural urban steady fragile bold curious gentle heavy hollow humble patient rough silent "
            "sudden tidy vivid weary wild crisp dusty eager faint frozen golden honest lively lucky "
            "massive mellow noisy plain proud rare rusty sharp shiny sleepy smooth solid sour spare "
            "stern sturdy swift tender thin timid vast warm wooden young"
        ).split(),
        "noun": (
            "harbour budget station council river bridge library market engineer farmer teacher "
            "orchard railway museum festival committee district village garden factory bakery clinic "
            "archive forest meadow tunnel lantern compass ledger network valley summit theatre "
            "workshop canal ferry airport vineyard quarry mill pharmacy stadium laboratory "
            "newspaper parliament hospital orchestra brewery courtyard glacier island lighthouse "
            "monastery observatory pavilion reservoir satellite shipyard tramway warehouse "
            "windmill cathedral chapel fortress granary"
        ).split(),
        "verb": (
            "inspects approves repairs funds questions delays opens closes visits rebuilds measures "
            "records expands reviews supports welcomes protects replaces studies restores surveys "
            "announces postpones doubles halves celebrates criticises documents finances monitors "
            "negotiates organises predicts publishes redesigns relocates schedules transforms"
        ).split(),
        "prep": ["near", "beside", "behind", "across", "above", "below", "around", "beyond", "under"],
        "conj": ["and", "while", "because", "although", "but", "so", "yet", "after", "before"],
        "adv": (
            "quietly finally suddenly rarely openly slowly gladly barely boldly calmly eagerly "
            "gently firmly loudly neatly partly proudly simply warmly wisely"
        ).split(),
    },
    "de": {
        "det": ["der", "die", "das", "ein", "eine", "jeder", "unser", "dieser"],
        "adj": (
            "ruhige schmale alte helle schnelle stille lokale neue kleine grosse freundliche "
            "mutige dunkle kalte warme lange kurze starke leichte frische"
        ).split(),
        "noun": (
            "Hafen Haushalt Bahnhof Gemeinderat Fluss Brücke Bibliothek Markt Ingenieur Bauer "
            "Lehrerin Garten Museum Fest Ausschuss Bezirk Dorf Fabrik Bäckerei Klinik Archiv Wald "
            "Wiese Tunnel Laterne Turm Weinberg Mühle Apotheke Stadion Zeitung Krankenhaus"
        ).split(),
        "verb": (
            "prüft genehmigt repariert fördert verschiebt öffnet schliesst besucht misst erweitert "
            "unterstützt begrüsst schützt ersetzt untersucht veröffentlicht plant feiert"
        ).split(),
        "prep": ["neben", "hinter", "über", "unter", "vor", "bei", "nahe"],
        "conj": ["und", "während", "weil", "obwohl", "aber", "doch", "nachdem"],
        "adv": "leise endlich plötzlich selten offen langsam gerne kaum mutig ruhig".split(),
    },
    "fr": {
        "det": ["le", "la", "un", "une", "chaque", "ce", "cette", "notre"],
        "adj": (
            "calme étroit ancien clair rapide discret local nouveau petit grand aimable courageux "
            "sombre froid chaud long court fort léger frais"
        ).split(),
        "noun": (
            "port budget gare conseil fleuve pont bibliothèque marché ingénieur fermier enseignante "
            "jardin musée festival comité quartier village usine boulangerie clinique archive forêt "
            "prairie tunnel phare tour vignoble moulin pharmacie stade journal hôpital"
        ).split(),
        "verb": (
            "inspecte approuve répare finance reporte ouvre ferme visite mesure agrandit soutient "
            "accueille protège remplace étudie publie prépare célèbre"
        ).split(),
        "prep": ["près de", "derrière", "au-dessus de", "sous", "devant", "chez", "autour de"],
        "conj": ["et", "pendant que", "parce que", "bien que", "mais", "donc", "après que"],
        "adv": "doucement enfin soudain rarement ouvertement lentement volontiers calmement".split(),
    },
    "es": {
        "det": ["el", "la", "un", "una", "cada", "este", "esta", "nuestro"],
        "adj": (
            "tranquilo estrecho antiguo claro rápido discreto local nuevo pequeño grande amable "
            "valiente oscuro frío cálido largo corto fuerte ligero fresco"
        ).split(),
        "noun": (
            "puerto presupuesto estación consejo río puente biblioteca mercado ingeniero granjero "
            "maestra jardín museo festival comité barrio pueblo fábrica panadería clínica archivo "
            "bosque pradera túnel faro torre viñedo molino farmacia estadio periódico hospital"
        ).split(),
        "verb": (
            "inspecciona aprueba repara financia aplaza abre cierra visita mide amplía apoya "
            "recibe protege reemplaza estudia publica prepara celebra"
        ).split(),
        "prep": ["cerca de", "detrás de", "encima de", "bajo", "delante de", "junto a"],
        "conj": ["y", "mientras", "porque", "aunque", "pero", "así que", "después de que"],
        "adv": "suavemente finalmente de_repente raramente abiertamente lentamente".split(),
    },
}

LANGUAGES = tuple(LEXICONS)


class Prose:
    """Sentences, paragraphs, titles and short link texts in one language, from one seeded RNG."""

    def __init__(self, rng: random.Random, language: str = "en"):
        self.rng = rng
        self.language = language
        self.words = LEXICONS[language]

    def _pick(self, kind: str) -> str:
        return self.rng.choice(self.words[kind]).replace("_", " ")

    def _noun_phrase(self) -> str:
        if self.rng.random() < 0.6:
            return f"{self._pick('det')} {self._pick('adj')} {self._pick('noun')}"
        return f"{self._pick('det')} {self._pick('noun')}"

    def clause(self) -> str:
        parts = [self._noun_phrase(), self._pick("verb"), self._noun_phrase()]
        if self.rng.random() < 0.5:
            parts += [self._pick("prep"), self._noun_phrase()]
        if self.rng.random() < 0.3:
            parts.insert(1, self._pick("adv"))
        return " ".join(parts)

    def sentence(self) -> str:
        text = self.clause()
        if self.rng.random() < 0.4:
            text += f" {self._pick('conj')} {self.clause()}"
        return text[0].upper() + text[1:] + "."

    def paragraph(self, sentences: tuple[int, int] = (3, 6)) -> str:
        return " ".join(self.sentence() for _ in range(self.rng.randint(*sentences)))

    def title(self) -> str:
        words = [self._pick("adj"), self._pick("noun"), self._pick("verb"), self._noun_phrase()]
        return " ".join(words).capitalize()

    def link_text(self) -> str:
        return f"{self._pick('adj')} {self._pick('noun')}".title()
